package io.maas.router;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.maas.proto.inference.GRPCInferenceServiceGrpc;
import io.maas.proto.inference.ServerReadyRequest;
import io.maas.proto.registry.CreateModelRequest;
import io.maas.proto.registry.ListModelsRequest;
import io.maas.proto.registry.ModelRegistryGrpc;
import io.maas.proto.registry.RegisterVersionRequest;
import io.maas.proto.registry.SetRoutingRequest;
import io.maas.proto.registry.TensorSpec;
import io.maas.testsupport.Await;
import io.maas.testsupport.FreePorts;
import io.maas.testsupport.ServiceProcess;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * Real processes on loopback for the router under test: a model registry (H2 in target/, no
 * tokens) and three inference services on a repository holding only the tiny {@code simple}
 * model. simple:1 (stable) is served by instances A and B, simple:2 (canary) by C; simple:3 is
 * registered in the registry but absent from every inference repository, so a canary on it fails.
 */
public class Cluster implements QuarkusTestResourceLifecycleManager {

    static final int REGISTRY_GRPC = FreePorts.take();
    static final int REGISTRY_HTTP = FreePorts.take();
    static final int[] INFERENCE_GRPC = { FreePorts.take(), FreePorts.take(), FreePorts.take() };
    static final int[] INFERENCE_HTTP = { FreePorts.take(), FreePorts.take(), FreePorts.take() };
    static final Path ROOT = Path.of(System.getProperty("router.test.root", "..")).toAbsolutePath().normalize();
    static final Path WORK = ROOT.resolve("router-service/target/it");

    static Process registry;
    static final Process[] inference = new Process[3];

    @Override
    public Map<String, String> start() {
        try {
            deleteTree(WORK);
            Files.createDirectories(WORK.resolve("repo"));
            Files.createSymbolicLink(WORK.resolve("repo/simple"), ROOT.resolve("models/target/repository/simple"));
            startRegistry();
            for (int i = 0; i < 3; i++) {
                inference[i] = startInference(i);
            }
            awaitRegistry();
            for (int port : INFERENCE_GRPC) {
                awaitInference(port);
            }
            seedRegistry();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        // host:grpcPort/httpPort: the HTTP port serves the REST twin
        String a = "127.0.0.1:" + INFERENCE_GRPC[0] + "/" + INFERENCE_HTTP[0];
        String b = "127.0.0.1:" + INFERENCE_GRPC[1] + "/" + INFERENCE_HTTP[1];
        String c = "127.0.0.1:" + INFERENCE_GRPC[2] + "/" + INFERENCE_HTTP[2];
        return Map.of(
                "maas.registry.address", "127.0.0.1:" + REGISTRY_GRPC,
                "maas.endpoints.source", "static",
                "maas.static-endpoints", "simple:1=" + a + "," + b + ";simple:2=" + c + ";simple:3=" + c,
                "maas.canary.window-seconds", "10",
                "maas.canary.min-requests", "20",
                "maas.canary.max-error-rate-delta", "0.05",
                "maas.canary.max-p99-ms", "0");
    }

    static void startRegistry() throws IOException {
        registry = java(ROOT.resolve("model-registry/target/quarkus-app/quarkus-run.jar"), List.of(),
                Map.of("MAAS_GRPC_PORT", "" + REGISTRY_GRPC, "MAAS_HTTP_PORT", "" + REGISTRY_HTTP,
                        "MAAS_REGISTRY_DATA_DIR", WORK.resolve("registry-data").toString()),
                WORK.resolve("registry.log"));
    }

    static Process startInference(int i) throws IOException {
        return java(ROOT.resolve("inference-service/target/quarkus-app/quarkus-run.jar"),
                List.of("--model-repository", WORK.resolve("repo").toString()),
                Map.of("MAAS_GRPC_PORT", "" + INFERENCE_GRPC[i], "MAAS_HTTP_PORT", "" + INFERENCE_HTTP[i],
                        "MAAS_ONNX_INTRA_OP_THREADS", "1", "ORT_DISABLE_TELEMETRY", "1"),
                WORK.resolve("inference-" + i + ".log"));
    }

    static Process java(Path jar, List<String> args, Map<String, String> env, Path log) throws IOException {
        return ServiceProcess.start(jar, args, env, log);
    }

    static void awaitRegistry() {
        ManagedChannel ch = channel(REGISTRY_GRPC);
        try {
            await("registry on " + REGISTRY_GRPC, () -> {
                ModelRegistryGrpc.newBlockingStub(ch).withDeadlineAfter(2, TimeUnit.SECONDS)
                        .listModels(ListModelsRequest.getDefaultInstance());
                return true;
            });
        } finally {
            ch.shutdownNow();
        }
    }

    static void awaitInference(int port) {
        ManagedChannel ch = channel(port);
        try {
            await("inference on " + port, () -> GRPCInferenceServiceGrpc.newBlockingStub(ch)
                    .withDeadlineAfter(2, TimeUnit.SECONDS).serverReady(ServerReadyRequest.getDefaultInstance()).getReady());
        } finally {
            ch.shutdownNow();
        }
    }

    static void await(String what, Await.Check check) {
        Await.until(what, check);
    }

    static ManagedChannel channel(int port) {
        return ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    }

    static ModelRegistryGrpc.ModelRegistryBlockingStub registryStub(ManagedChannel ch) {
        return ModelRegistryGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    private static void seedRegistry() {
        ManagedChannel ch = channel(REGISTRY_GRPC);
        try {
            var stub = registryStub(ch);
            stub.createModel(CreateModelRequest.newBuilder().setName("simple").setDescription("add/sub test model").build());
            for (String v : List.of("1", "2", "3")) {
                var req = RegisterVersionRequest.newBuilder().setModel("simple").setVersion(v)
                        .setArtifactUri("file:///models/simple/" + v + "/model.onnx").setSha256("0".repeat(64))
                        .setFramework("onnx");
                for (String in : List.of("INPUT0", "INPUT1")) {
                    req.addInputs(TensorSpec.newBuilder().setName(in).setDatatype("FP32").addShape(-1).addShape(16));
                }
                for (String out : List.of("OUTPUT0", "OUTPUT1")) {
                    req.addOutputs(TensorSpec.newBuilder().setName(out).setDatatype("FP32").addShape(-1).addShape(16));
                }
                stub.registerVersion(req.build());
            }
            stub.setRouting(SetRoutingRequest.newBuilder().setModel("simple").setStableVersion("1").setCanaryVersion("2")
                    .setCanaryWeight(30).setReason("router test").build());
        } finally {
            ch.shutdownNow();
        }
    }

    @Override
    public void stop() {
        for (Process p : inference) {
            stop(p);
        }
        stop(registry);
    }

    static void stop(Process p) {
        ServiceProcess.stop(p);
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
        }
    }
}
