package io.maas.inference.api;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import com.google.common.util.concurrent.ListenableFuture;

import io.maas.inference.TestModels;
import io.maas.proto.inference.GRPCInferenceServiceGrpc;
import io.maas.proto.inference.ModelInferRequest;
import io.maas.proto.inference.ModelInferResponse;
import io.maas.testsupport.TempDirs;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * Ragged batching on the real fp32 MiniLM over real gRPC: calls of different token counts are joined
 * into one padded batch, and each caller gets exactly the last_hidden_state it gets alone, in its own
 * shape. Joining is made certain without timing: the worker, having just run a call of REQUESTS rows,
 * waits (up to a minute, never reached) until it holds that many rows again, so the REQUESTS one-row
 * calls sent next run as one batch; the batch-size metric proves it.
 */
@QuarkusTest
@TestProfile(RaggedBatchingTest.Profile.class)
class RaggedBatchingTest extends GrpcTestSupport {
    static final int REQUESTS = 6;

    public static class Profile implements QuarkusTestProfile {
        static final Path ROOT = create();

        private static Path create() {
            try {
                Path root = TempDirs.create("maas-ragged");
                Files.copy(TestModels.repository().resolve("minilm/1/model.onnx"),
                        Files.createDirectories(root.resolve("minilm/1")).resolve("model.onnx"));
                Files.writeString(root.resolve("minilm/config.pbtxt"), """
                        max_batch_size: %d
                        input [
                          { name: "input_ids", data_type: TYPE_INT64, dims: [ -1 ], allow_ragged_batch: true },
                          { name: "attention_mask", data_type: TYPE_INT64, dims: [ -1 ], allow_ragged_batch: true },
                          { name: "token_type_ids", data_type: TYPE_INT64, dims: [ -1 ], allow_ragged_batch: true }
                        ]
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

    /** Call r: [CLS] + words of its own + [SEP], 3 + 5r tokens long. */
    static long[] ids(int r) {
        int length = 3 + 5 * r;
        long[] ids = new long[length];
        for (int c = 0; c < length; c++) {
            ids[c] = c == 0 ? 101 : c == length - 1 ? 102 : 2000 + (r * 131 + c * 17) % 20000;
        }
        return ids;
    }

    static ModelInferRequest request(long[]... rows) {
        int seq = rows[0].length;
        long[] flat = Arrays.stream(rows).flatMapToLong(Arrays::stream).toArray();
        long[] ones = new long[flat.length];
        Arrays.fill(ones, 1);
        return ModelInferRequest.newBuilder().setModelName("minilm").setModelVersion("1")
                .addInputs(TestModels.input("input_ids", "INT64", rows.length, seq))
                .addInputs(TestModels.input("attention_mask", "INT64", rows.length, seq))
                .addInputs(TestModels.input("token_type_ids", "INT64", rows.length, seq))
                .addRawInputContents(TestModels.longs(flat)).addRawInputContents(TestModels.longs(ones))
                .addRawInputContents(TestModels.longs(new long[flat.length])).build();
    }

    static float[] floats(ModelInferResponse response) {
        FloatBuffer b = response.getRawOutputContents(0).asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN)
                .asFloatBuffer();
        float[] out = new float[b.remaining()];
        b.get(out);
        return out;
    }

    static double metric(String name) {
        return given().get("/metrics").then().statusCode(200).extract().asString().lines()
                .filter(l -> l.startsWith(name + "{") && l.contains("model=\"minilm\""))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    @Test
    void callsOfDifferentLengthsJoinedInOneBatchGetExactlyWhatTheyGetAlone() throws Exception {
        List<float[]> alone = new ArrayList<>();
        for (int r = 0; r < REQUESTS; r++) {
            ModelInferResponse response = stub().modelInfer(request(ids(r)));
            assertEquals(List.of(1L, (long) ids(r).length, 384L), response.getOutputs(0).getShapeList());
            alone.add(floats(response));
        }
        // One call of REQUESTS rows: the worker now expects that many rows back and waits for them.
        long[][] same = new long[REQUESTS][];
        Arrays.fill(same, ids(1));
        stub().modelInfer(request(same));
        double runs = metric("maas_inference_batch_size_count");
        double joined = metric("maas_inference_batch_size_sum");

        GRPCInferenceServiceGrpc.GRPCInferenceServiceFutureStub async = GRPCInferenceServiceGrpc.newFutureStub(channel)
                .withDeadlineAfter(120, TimeUnit.SECONDS);
        List<ListenableFuture<ModelInferResponse>> calls = new ArrayList<>();
        for (int r = REQUESTS - 1; r >= 0; r--) {
            calls.add(0, async.modelInfer(request(ids(r))));
        }
        for (int r = 0; r < REQUESTS; r++) {
            ModelInferResponse response = calls.get(r).get(120, TimeUnit.SECONDS);
            assertEquals(List.of(1L, (long) ids(r).length, 384L), response.getOutputs(0).getShapeList(),
                    "call " + r + " gets its own positions only");
            assertArrayEquals(alone.get(r), floats(response), 1e-5f, "call " + r + " in a padded batch vs alone");
        }
        assertEquals(runs + 1, metric("maas_inference_batch_size_count"), "the calls ran as one batch");
        assertEquals(joined + REQUESTS, metric("maas_inference_batch_size_sum"), "of all " + REQUESTS + " calls");
    }
}
