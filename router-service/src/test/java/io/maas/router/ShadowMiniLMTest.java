package io.maas.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import com.google.protobuf.ByteString;

import io.grpc.ManagedChannel;
import io.maas.proto.inference.GRPCInferenceServiceGrpc;
import io.maas.proto.inference.ModelInferRequest;
import io.maas.proto.inference.ModelInferRequest.InferInputTensor;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.junit.QuarkusTest;

/**
 * Shadow traffic on a real model: one inference process serving MiniLM v1 (fp32) and v2 (int8),
 * the router (no registry, static endpoints) configured with {@code MAAS_SHADOW=minilm:2=1.0};
 * callers name version 1, every call is mirrored to v2 and the embeddings compared.
 */
@QuarkusTest
@QuarkusTestResource(value = ShadowMiniLMTest.MiniLM.class, restrictToAnnotatedClass = true)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ShadowMiniLMTest {

    @Inject
    io.maas.router.api.DataPlaneServer dataPlane;

    static final int INFERENCE_GRPC = io.maas.testsupport.FreePorts.take();
    static final int INFERENCE_HTTP = io.maas.testsupport.FreePorts.take();

    public static class MiniLM implements QuarkusTestResourceLifecycleManager {
        static final Path WORK = Cluster.ROOT.resolve("router-service/target/it-minilm");
        Process inference;

        @Override
        public Map<String, String> start() {
            try {
                Cluster.deleteTree(WORK);
                Files.createDirectories(WORK.resolve("repo"));
                Files.createSymbolicLink(WORK.resolve("repo/minilm"), Cluster.ROOT.resolve("models/target/repository/minilm"));
                inference = Cluster.java(Cluster.ROOT.resolve("inference-service/target/quarkus-app/quarkus-run.jar"),
                        List.of("--model-repository", WORK.resolve("repo").toString()),
                        Map.of("MAAS_GRPC_PORT", "" + INFERENCE_GRPC, "MAAS_HTTP_PORT", "" + INFERENCE_HTTP,
                                "MAAS_ONNX_INTRA_OP_THREADS", "1", "ORT_DISABLE_TELEMETRY", "1"),
                        WORK.resolve("inference.log"));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            Cluster.awaitInference(INFERENCE_GRPC);
            String a = "127.0.0.1:" + INFERENCE_GRPC;
            return Map.of("maas.endpoints.source", "static",
                    "maas.static-endpoints", "minilm:1=" + a + ";minilm:2=" + a,
                    "maas.shadow.rules", "minilm:2=1.0");
        }

        @Override
        public void stop() {
            Cluster.stop(inference);
        }
    }

    @Inject
    MeterRegistry meters;

    ManagedChannel router;

    @BeforeAll
    void connect() {
        router = Cluster.channel(dataPlane.port());
    }

    @AfterAll
    void close() {
        router.shutdownNow();
    }

    static ByteString int64(long[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            b.putLong(v);
        }
        return ByteString.copyFrom(b.array());
    }

    /** A "sentence" of token ids: [CLS] some word-piece ids [SEP], full attention, one segment. */
    static ModelInferRequest request(int i) {
        int len = 8 + i % 9;
        long[] ids = new long[len];
        ids[0] = 101;
        ids[len - 1] = 102;
        for (int k = 1; k < len - 1; k++) {
            ids[k] = 2000 + (i * 131 + k * 977) % 20000;
        }
        long[] ones = new long[len];
        java.util.Arrays.fill(ones, 1);
        ModelInferRequest.Builder b = ModelInferRequest.newBuilder().setModelName("minilm").setModelVersion("1");
        for (String name : List.of("input_ids", "attention_mask", "token_type_ids")) {
            b.addInputs(InferInputTensor.newBuilder().setName(name).setDatatype("INT64").addShape(1).addShape(len));
        }
        return b.addRawInputContents(int64(ids)).addRawInputContents(int64(ones)).addRawInputContents(int64(new long[len]))
                .build();
    }

    double shadows(String result) {
        var c = meters.find("maas.router.shadow.requests").tags("model", "minilm", "version", "1", "shadow_version", "2",
                "result", result).counter();
        return c == null ? 0 : c.count();
    }

    @Test
    void int8ShadowOfFp32IsComparedAndCallersGetV1() {
        var stub = GRPCInferenceServiceGrpc.newBlockingStub(router);
        int n = 30;
        for (int i = 0; i < n; i++) {
            var r = stub.withDeadlineAfter(60, TimeUnit.SECONDS).modelInfer(request(i));
            assertEquals("1", r.getModelVersion());
        }
        Cluster.await("MiniLM shadow comparisons", () -> shadows("compared") + shadows("shadow_failed")
                + shadows("mismatched_shape") + shadows("compare_failed") >= n);
        meters.find("maas.router.shadow.requests").counters().forEach(
                c -> System.out.println("shadow outcome " + c.getId().getTags() + " " + c.count()));
        assertEquals(n, shadows("compared"));
        var cosines = meters.find("maas.router.shadow.cosine.similarity").tag("model", "minilm").summaries();
        assertTrue(!cosines.isEmpty());
        for (DistributionSummary cos : cosines) {
            String output = cos.getId().getTag("output");
            var diff = meters.find("maas.router.shadow.max.abs.diff").tags("model", "minilm", "output", output).summary();
            // the lowest cosine of the n calls: the bucket counts tell whether every value was above 0.9
            long below09 = (long) java.util.Arrays.stream(cos.takeSnapshot().histogramCounts())
                    .filter(b -> b.bucket() == 0.9).findFirst().orElseThrow().count();
            System.out.printf("shadow minilm 1 (fp32) vs 2 (int8), %s: %d compared, cosine mean %.5f (%d at or below 0.9), "
                    + "max abs diff mean %.4f max %.4f%n", output, cos.count(), cos.mean(), below09, diff.mean(), diff.max());
            assertEquals(n, cos.count());
            assertEquals(0, below09, "calls with cosine <= 0.9");
            assertTrue(diff.max() > 0 && diff.max() < 10, "max abs diff " + diff.max());
        }
    }
}
