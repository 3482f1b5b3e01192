package io.maas.inference.api;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import com.google.common.util.concurrent.ListenableFuture;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.maas.inference.TestModels;
import io.maas.proto.inference.GRPCInferenceServiceGrpc;
import io.maas.proto.inference.ModelInferRequest;
import io.maas.proto.inference.ModelInferResponse;
import io.maas.testsupport.TempDirs;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * One caller's bad input must not fail its batch mates: one request with a token id outside
 * MiniLM's vocabulary among 31 good ones, sent at once over real gRPC to the real fp32 model. The
 * test repository's config waits up to 60 s for a batch to fill, and a run of 32 rows just before makes
 * the worker expect as many, so the 32 one-row requests are joined into one batch of max_batch_size 32,
 * which runs the moment the last one arrives (no timing involved); the split counter proves the joined
 * batch failed and was split.
 */
@QuarkusTest
@TestProfile(BatchIsolationTest.Profile.class)
class BatchIsolationTest extends GrpcTestSupport {
    static final int REQUESTS = 32;
    static final int POISON = 13;
    static final int SEQ = 8;
    static final double TOLERANCE = 1e-4;

    public static class Profile implements QuarkusTestProfile {
        static final Path ROOT = create();

        private static Path create() {
            try {
                Path root = TempDirs.create("maas-batch-isolation");
                Files.copy(TestModels.repository().resolve("minilm/1/model.onnx"),
                        Files.createDirectories(root.resolve("minilm/1")).resolve("model.onnx"));
                Files.writeString(root.resolve("minilm/config.pbtxt"), """
                        max_batch_size: %d
                        dynamic_batching { max_queue_delay_microseconds: 60000000 }
                        instance_group [ { count: 1, kind: KIND_CPU } ]
                        """.formatted(REQUESTS));
                return root;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("maas.model-repository", ROOT.toString());
        }
    }

    /** Request {@code r}: [CLS] w w ... [SEP] with words of its own, or with id 999999 when poisoned. */
    static long[] ids(int r) {
        long[] ids = new long[SEQ];
        for (int c = 0; c < SEQ; c++) {
            ids[c] = c == 0 ? 101 : c == SEQ - 1 ? 102 : 2000 + (r * 97 + c * 13) % 20000;
        }
        if (r == POISON) {
            ids[3] = 999_999;
        }
        return ids;
    }

    static ModelInferRequest request(long[] ids) {
        long[] ones = new long[SEQ];
        Arrays.fill(ones, 1);
        return ModelInferRequest.newBuilder().setModelName("minilm").setModelVersion("1")
                .addInputs(TestModels.input("input_ids", "INT64", 1, SEQ))
                .addInputs(TestModels.input("attention_mask", "INT64", 1, SEQ))
                .addInputs(TestModels.input("token_type_ids", "INT64", 1, SEQ))
                .addRawInputContents(TestModels.longs(ids)).addRawInputContents(TestModels.longs(ones))
                .addRawInputContents(TestModels.longs(new long[SEQ])).build();
    }

    /** last_hidden_state of one request, computed by ONNX Runtime directly on the same file. */
    static float[] reference(OrtEnvironment env, OrtSession session, long[] ids) throws OrtException {
        long[] ones = new long[SEQ];
        Arrays.fill(ones, 1);
        long[] shape = {1, SEQ};
        try (OnnxTensor a = OnnxTensor.createTensor(env, LongBuffer.wrap(ids), shape);
             OnnxTensor b = OnnxTensor.createTensor(env, LongBuffer.wrap(ones), shape);
             OnnxTensor c = OnnxTensor.createTensor(env, LongBuffer.wrap(new long[SEQ]), shape);
             OrtSession.Result result = session.run(Map.of("input_ids", a, "attention_mask", b, "token_type_ids", c))) {
            FloatBuffer out = ((OnnxTensor) result.get("last_hidden_state").orElseThrow()).getFloatBuffer();
            float[] values = new float[out.remaining()];
            out.get(values);
            return values;
        }
    }

    static double splits() {
        String metrics = given().get("/metrics").then().statusCode(200).extract().asString();
        return metrics.lines()
                .filter(l -> l.startsWith("maas_inference_batch_splits_total{") && l.contains("model=\"minilm\"")
                        && l.contains("version=\"1\""))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    @Test
    void onePoisonedRequestFailsAloneAndItsBatchMatesGetOnnxRuntimesOutputs() throws Exception {
        // One call of 32 rows first: the worker then expects 32 rows back and gathers the 32 one-row calls
        // below into one run however they trickle in (a busy machine delivers them one by one, and a call
        // that finds the worker idle with no such expectation runs alone at once).
        assertEquals(List.of(32L, (long) SEQ, 384L), GRPCInferenceServiceGrpc.newBlockingStub(channel)
                .withDeadlineAfter(120, TimeUnit.SECONDS).modelInfer(TestModels.minilm("1", REQUESTS, SEQ))
                .getOutputs(0).getShapeList());
        double splitsBefore = splits();
        GRPCInferenceServiceGrpc.GRPCInferenceServiceFutureStub async = GRPCInferenceServiceGrpc.newFutureStub(channel)
                .withDeadlineAfter(120, TimeUnit.SECONDS);
        List<ListenableFuture<ModelInferResponse>> calls = new ArrayList<>();
        for (int r = 0; r < REQUESTS; r++) {
            calls.add(async.modelInfer(request(ids(r))));
        }

        List<String> goodFailed = new ArrayList<>();
        StatusRuntimeException poisonFailure = null;
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = env.createSession(Profile.ROOT.resolve("minilm/1/model.onnx").toString(),
                new OrtSession.SessionOptions())) {
            for (int r = 0; r < REQUESTS; r++) {
                try {
                    ModelInferResponse response = calls.get(r).get(120, TimeUnit.SECONDS);
                    if (r == POISON) {
                        goodFailed.add("the poisoned request " + r + " succeeded");
                        continue;
                    }
                    assertEquals(List.of(1L, (long) SEQ, 384L), response.getOutputs(0).getShapeList());
                    float[] got = floats(response);
                    float[] want = reference(env, session, ids(r));
                    assertEquals(want.length, got.length);
                    for (int i = 0; i < want.length; i++) {
                        if (Math.abs(want[i] - got[i]) > TOLERANCE) {
                            goodFailed.add("request " + r + " element " + i + ": " + got[i] + " != " + want[i]);
                            break;
                        }
                    }
                } catch (ExecutionException e) {
                    StatusRuntimeException s = (StatusRuntimeException) e.getCause();
                    if (r == POISON) {
                        poisonFailure = s;
                    } else {
                        goodFailed.add("request " + r + ": " + s.getStatus());
                    }
                }
            }
        }

        assertEquals(0, goodFailed.size(), () -> goodFailed.size() + " of " + (REQUESTS - 1)
                + " good batch mates failed, e.g. " + goodFailed.subList(0, Math.min(3, goodFailed.size())));
        assertTrue(poisonFailure != null, "the poisoned request must fail");
        assertEquals(Status.Code.INVALID_ARGUMENT, poisonFailure.getStatus().getCode(), poisonFailure.getStatus()::toString);
        String message = String.valueOf(poisonFailure.getStatus().getDescription());
        assertTrue(message.contains("ORT_INVALID_ARGUMENT") && message.contains("indices element out of data bounds")
                && message.contains("idx=999999"), "ONNX Runtime's own message: " + message);
        // One batch of 32 with one bad request bisects 32 -> 16 -> 8 -> 4 -> 2 -> 1: 5 splits.
        assertEquals(5.0, splits() - splitsBefore, "the 32 requests ran as one joined batch that was split");
    }

    private static float[] floats(ModelInferResponse response) {
        FloatBuffer b = response.getRawOutputContents(0).asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN)
                .asFloatBuffer();
        float[] out = new float[b.remaining()];
        b.get(out);
        return out;
    }
}
