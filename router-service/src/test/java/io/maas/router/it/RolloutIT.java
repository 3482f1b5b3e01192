package io.maas.router.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import com.google.protobuf.ByteString;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import io.maas.proto.inference.GRPCInferenceServiceGrpc;
import io.maas.proto.inference.ModelInferRequest;
import io.maas.proto.inference.ModelInferRequest.InferInputTensor;
import io.maas.proto.inference.ServerReadyRequest;
import io.maas.proto.registry.AuditRecord;
import io.maas.proto.registry.GetRolloutRequest;
import io.maas.proto.registry.GetRoutingRequest;
import io.maas.proto.registry.ListAuditRequest;
import io.maas.proto.registry.ListModelsRequest;
import io.maas.proto.registry.ModelRegistryGrpc;
import io.maas.proto.registry.RegisterVersionRequest;
import io.maas.proto.registry.Rollout;
import io.maas.proto.registry.TensorSpec;
import io.maas.testsupport.Await;
import io.maas.testsupport.FreePorts;
import io.maas.testsupport.ServiceProcess;

/**
 * Progressive delivery end to end, every component a real process on loopback: the registry
 * (H2, tokens, declared routing from a file), two routers reporting traffic to it with their
 * writer token, a "stable" and a "canary" inference pod (real ONNX models: {@code simple}, MiniLM
 * fp32 and int8), and a client loading both routers. Rollouts are declared in the routing file as
 * bin/maas and the Helm chart's ConfigMap declare them; steps last seconds here.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RolloutIT {

    static final Path ROOT = Path.of(System.getProperty("router.test.root", "..")).toAbsolutePath().normalize();
    static final Path WORK = ROOT.resolve("router-service/target/it-rollouts");
    static final String ADMIN = "admin-token-for-tests";
    static final String ROUTER = "router-token-for-tests";
    /** tools/models/make_test_models.py's 'simple' with OUTPUT0 and OUTPUT1 swapped. */
    static final Path SWAPPED = ROOT.resolve("router-service/src/test/resources/models/simple-swapped.onnx");

    static final int REGISTRY_GRPC = FreePorts.take();
    static final int REGISTRY_HTTP = FreePorts.take();
    static final int[] POD_GRPC = { FreePorts.take(), FreePorts.take() };
    static final int[] POD_HTTP = { FreePorts.take(), FreePorts.take() };
    static final int[] ROUTER_GRPC = { FreePorts.take(), FreePorts.take() };
    static final int[] ROUTER_HTTP = { FreePorts.take(), FreePorts.take() };

    static Process registry;
    static final Process[] pods = new Process[2];
    static final Process[] routers = new Process[2];
    static final ManagedChannel[] routerChannels = new ManagedChannel[2];
    static ManagedChannel registryChannel;
    static Load load;

    @BeforeAll
    static void start() throws Exception {
        deleteTree(WORK);
        Files.createDirectories(WORK.resolve("repo"));
        for (String model : List.of("simple", "minilm")) {
            Files.createSymbolicLink(WORK.resolve("repo/" + model), ROOT.resolve("models/target/repository/" + model));
        }
        // The canary pod's repository also has simple:4, the deliberately wrong candidate (outputs swapped).
        Path canaryRepo = WORK.resolve("repo-canary");
        Files.createDirectories(canaryRepo.resolve("simple/4"));
        Files.createSymbolicLink(canaryRepo.resolve("minilm"), ROOT.resolve("models/target/repository/minilm"));
        for (String f : List.of("config.pbtxt", "1", "2")) {
            Files.createSymbolicLink(canaryRepo.resolve("simple/" + f), ROOT.resolve("models/target/repository/simple/" + f));
        }
        Files.createSymbolicLink(canaryRepo.resolve("simple/4/model.onnx"), SWAPPED);
        Files.writeString(WORK.resolve("tokens"), "admin:admin:" + ADMIN + "\nrouter:writer:" + ROUTER + "\n");
        // Applied once register-repository below has registered the versions (the registry retries).
        Files.writeString(WORK.resolve("routing.yaml"), "models: [{name: simple, stable: 1}, {name: minilm, stable: 1}]\n");
        startRegistry();
        for (int i = 0; i < 2; i++) {
            pods[i] = ServiceProcess.start(ROOT.resolve("inference-service/target/quarkus-app/quarkus-run.jar"),
                    List.of("--model-repository", WORK.resolve(i == 0 ? "repo" : "repo-canary").toString()),
                    Map.of("MAAS_GRPC_PORT", "" + POD_GRPC[i], "MAAS_HTTP_PORT", "" + POD_HTTP[i], "MAAS_ONNX_INTRA_OP_THREADS", "1",
                            "ORT_DISABLE_TELEMETRY", "1"),
                    WORK.resolve("pod-" + (i == 0 ? "stable" : "canary") + "/pod.log"));
        }
        registryChannel = channel(REGISTRY_GRPC);
        awaitRegistry();
        maasctl("register-repository", "--repository", WORK.resolve("repo").toString());
        // simple:3 is registered but no pod serves it: a candidate whose every call fails (the pod lacks it).
        registerSimple("3", "file:///missing/simple/3/model.onnx");
        registerSimple("4", SWAPPED.toUri().toString());
        for (int port : POD_GRPC) {
            var ch = channel(port);
            Await.until("pod on " + port, () -> GRPCInferenceServiceGrpc.newBlockingStub(ch).withDeadlineAfter(2, TimeUnit.SECONDS)
                    .serverReady(ServerReadyRequest.getDefaultInstance()).getReady());
            ch.shutdownNow();
        }
        for (int i = 0; i < 2; i++) {
            startRouter(i);
        }
        load = new Load();
        load.start();
    }

    @AfterAll
    static void stop() throws InterruptedException {
        if (load != null) {
            load.halt();
        }
        for (var ch : routerChannels) {
            if (ch != null) {
                ch.shutdownNow();
            }
        }
        if (registryChannel != null) {
            registryChannel.shutdownNow();
        }
        for (Process p : routers) {
            ServiceProcess.stop(p);
        }
        for (Process p : pods) {
            ServiceProcess.stop(p);
        }
        ServiceProcess.stop(registry);
    }

    static void registerSimple(String version, String uri) {
        var b = RegisterVersionRequest.newBuilder().setModel("simple").setVersion(version)
                .setArtifactUri(uri).setSha256("0".repeat(64)).setFramework("onnx");
        for (String in : List.of("INPUT0", "INPUT1")) {
            b.addInputs(TensorSpec.newBuilder().setName(in).setDatatype("FP32").addShape(-1).addShape(16));
        }
        registryWriter().registerVersion(b.build());
    }

    static void startRegistry() throws IOException {
        registry = ServiceProcess.start(ROOT.resolve("model-registry/target/quarkus-app/quarkus-run.jar"), List.of(),
                Map.of("MAAS_GRPC_PORT", "" + REGISTRY_GRPC, "MAAS_HTTP_PORT", "" + REGISTRY_HTTP,
                        "MAAS_REGISTRY_DATA_DIR", WORK.resolve("registry/data").toString(),
                        "MAAS_REGISTRY_TOKENS_FILE", WORK.resolve("tokens").toString(),
                        "MAAS_ROUTING_FILE", WORK.resolve("routing.yaml").toString(),
                        "MAAS_REGISTRY_ROLLOUT_INTERVAL_MS", "500"),
                WORK.resolve("registry/registry.log"));
    }

    static void startRouter(int i) throws IOException {
        String stable = "127.0.0.1:" + POD_GRPC[0];
        String canary = "127.0.0.1:" + POD_GRPC[1];
        Map<String, String> env = new HashMap<>();
        env.put("MAAS_GRPC_PORT", "" + ROUTER_GRPC[i]);
        env.put("MAAS_HTTP_PORT", "" + ROUTER_HTTP[i]);
        env.put("MAAS_REGISTRY_ADDRESS", "127.0.0.1:" + REGISTRY_GRPC);
        env.put("MAAS_REGISTRY_TOKEN", ROUTER);
        env.put("MAAS_REGISTRY_REPORT_INTERVAL_MS", "500");
        env.put("MAAS_ROUTER_NAME", "router-" + i);
        env.put("MAAS_ENDPOINTS_SOURCE", "static");
        // Versions 1 on the "stable" pod, 2, 3 and 4 on the "canary" pod (which has no simple:3).
        env.put("MAAS_STATIC_ENDPOINTS", "simple:1=" + stable + ";simple:2=" + canary + ";simple:3=" + canary
                + ";simple:4=" + canary + ";minilm:1=" + stable + ";minilm:2=" + canary);
        // Every call of a stable answer is mirrored to the canary and compared (the shadow gate's evidence).
        env.put("MAAS_SHADOW", "simple:canary=1.0;minilm:canary=1.0");
        // The registry's rollout gates judge here, not the router's own guard.
        env.put("MAAS_CANARY_AUTO_ABORT", "false");
        routers[i] = ServiceProcess.start(ROOT.resolve("router-service/target/quarkus-app/quarkus-run.jar"), List.of(), env,
                WORK.resolve("router-" + i + "/router.log"));
        if (routerChannels[i] == null) {
            routerChannels[i] = channel(ROUTER_GRPC[i]);
        }
        var ch = routerChannels[i];
        Await.until("router " + i + " serving simple", () -> GRPCInferenceServiceGrpc.newBlockingStub(ch)
                .withDeadlineAfter(5, TimeUnit.SECONDS).modelInfer(simple(1)).getModelVersion() != null);
    }

    // ---- the tests ----

    @Test
    @Order(1)
    void healthyCandidateGoesThroughEveryStepToPromotionAcrossRestartsAndPauses() throws Exception {
        load.model = "simple";
        declare("""
                models:
                  - name: simple
                    stable: 1
                    canary: 2
                    rollout:
                      steps:
                        - {weight: 20, hold: 4s}
                        - {pause: true}
                        - {weight: 50, hold: 20s}
                      analysis:
                        minCalls: 20
                        maxErrorRateDelta: 0.02
                        maxP99Ms: 2000
                        shadow: {minCosine: 0.9999, maxAbsDiff: 0.001, minCompared: 5}
                """);
        Await.until("simple's rollout at its pause step", () -> rollout("simple").getStep() == 1
                && rollout("simple").getState().equals("PAUSED"));

        // Registry SIGKILLed and restarted, then one router restarted: the rollout stays where it was.
        registry.destroyForcibly().waitFor();
        startRegistry();
        awaitRegistry();
        assertEquals("PAUSED", rollout("simple").getState());
        assertEquals(1, rollout("simple").getStep());
        load.useRouter1.set(false);
        ServiceProcess.stop(routers[1]);
        startRouter(1);
        load.useRouter1.set(true);
        Await.until("both routers reporting", () -> rollout("simple").getReportingRouters() == 2);
        assertEquals("PAUSED", rollout("simple").getState());
        assertEquals(1, rollout("simple").getStep(), "a pause step waits for a person");

        String status = maasctl("rollout", "resume", "simple");
        assertTrue(status.contains("RUNNING") && status.contains("step:      3/3 at weight 50%"), status);
        // A person's pause in a step, then resume.
        status = maasctl("rollout", "pause", "simple", "--reason", "checking dashboards");
        assertTrue(status.contains("PAUSED"), status);
        Thread.sleep(1500); // a few evaluations while paused (not a timing assertion: they must change nothing)
        status = maasctl("rollout", "status", "simple");
        assertTrue(status.contains("note:      paused by admin: checking dashboards\n"), status);
        assertTrue(status.contains("routers:   2 reporting"), status);
        maasctl("rollout", "resume", "simple");
        Await.until("simple promoted", () -> rollout("simple").getState().equals("PROMOTED"));
        var routing = registryWriter().getRouting(GetRoutingRequest.newBuilder().setModel("simple").build());
        assertEquals("2", routing.getStableVersion());
        assertEquals("", routing.getCanaryVersion());

        List<AuditRecord> log = rolloutAudit("simple");
        print("full rollout of simple 1 -> 2", log);
        assertEquals(List.of("RolloutStarted", "RolloutAdvanced", "RolloutAdvanced", "RolloutPaused", "RolloutResumed",
                "RolloutPromoted"), log.stream().map(AuditRecord::getAction).toList());
        // Each timed step held at least its minimum, from entering it to leaving it.
        assertTrue(log.get(1).getAtMs() - log.get(0).getAtMs() >= 4_000, "step 1 held " + (log.get(1).getAtMs() - log.get(0).getAtMs()));
        assertTrue(log.get(5).getAtMs() - log.get(2).getAtMs() >= 20_000, "step 3 held " + (log.get(5).getAtMs() - log.get(2).getAtMs()));
        assertEquals("rollout", log.get(1).getActor());
        assertEquals("admin", log.get(2).getActor());
        String promoted = log.get(5).getReason();
        assertTrue(promoted.contains("passed every gate") && promoted.contains("0 server faults") && promoted.contains("shadow:"), promoted);
        assertEquals(0, load.failures.get(), "no call failed: " + load.lastFailure);
    }

    @Test
    @Order(2)
    void failingCandidateIsAbortedAtTheFirstGateItBreaks() throws Exception {
        load.model = "simple";
        long failuresBefore = load.failures.get();
        declare("""
                models:
                  - name: simple
                    stable: 2
                    canary: 3
                    rollout:
                      steps:
                        - {weight: 20, hold: 30s}
                        - {weight: 100, hold: 30s}
                      analysis:
                        minCalls: 20
                        maxErrorRateDelta: 0.05
                """);
        Await.until("simple's rollout of 3 aborted", () -> rollout("simple").getCandidateVersion().equals("3")
                && rollout("simple").getState().equals("ABORTED"));
        var r = rollout("simple");
        assertEquals(0, r.getStep(), "aborted in its first step");
        assertTrue(r.getNote().contains("gate error_rate broken"), r.getNote());
        var routing = registryWriter().getRouting(GetRoutingRequest.newBuilder().setModel("simple").build());
        assertEquals("2", routing.getStableVersion());
        assertEquals(0, routing.getCanaryWeight());
        print("automatic abort of simple 2 -> 3", rolloutAudit("simple").stream()
                .filter(a -> a.getVersion().equals("3")).toList());
        // Every call the split sent to the failing canary was answered by stable (the routers' fallback),
        // while the gate still judged the canary on its failures: no caller saw one.
        assertTrue(r.getCanary().getServerFaults() >= 20, "the gate judged the canary's failures: " + r.getNote());
        long calls = load.calls.get();
        Await.until("200 more calls", () -> load.calls.get() >= calls + 200);
        assertEquals(failuresBefore, load.failures.get(), "calls failed at the client: " + load.lastFailure);
    }

    @Test
    @Order(3)
    void driftingCandidateIsStoppedByTheShadowGateWhileErrorsAndLatencyAreFine() throws Exception {
        load.model = "minilm";
        declare("""
                models:
                  - name: simple
                    stable: 2
                    canary: 3
                    rollout:
                      steps:
                        - {weight: 20, hold: 30s}
                        - {weight: 100, hold: 30s}
                      analysis:
                        minCalls: 20
                        maxErrorRateDelta: 0.05
                  - name: minilm
                    stable: 1
                    canary: 2
                    rollout:
                      steps:
                        - {weight: 10, hold: 60s}
                      analysis:
                        minCalls: 3
                        maxErrorRateDelta: 0.05
                        maxP99Ms: 30000
                        shadow: {minCosine: 0.999, minCompared: 10}
                """);
        Await.until("minilm's rollout aborted", () -> rollout("minilm").getState().equals("ABORTED"));
        var r = rollout("minilm");
        assertTrue(r.getNote().contains("gate shadow_cosine broken"), r.getNote());
        assertEquals(0, r.getCanary().getServerFaults(), "errors are fine");
        assertEquals("ABORTED", rollout("simple").getState(), "an unchanged declaration never restarts a finished rollout");
        print("shadow gate stops minilm int8", rolloutAudit("minilm"));
    }

    @Test
    @Order(4)
    void aDeliberatelyWrongCandidateIsStoppedByTheShadowGateAlone() throws Exception {
        // simple:4 answers every call fast and without error, with its two outputs swapped.
        load.model = "simple";
        long failuresBefore = load.failures.get();
        declare("""
                models:
                  - name: simple
                    stable: 2
                    canary: 4
                    rollout:
                      steps:
                        - {weight: 20, hold: 60s}
                      analysis:
                        minCalls: 10
                        maxErrorRateDelta: 0.05
                        maxP99Ms: 30000
                        shadow: {maxAbsDiff: 0.001, minCompared: 10}
                  - name: minilm
                    stable: 1
                    canary: 2
                    rollout:
                      steps:
                        - {weight: 10, hold: 60s}
                      analysis:
                        minCalls: 3
                        maxErrorRateDelta: 0.05
                        maxP99Ms: 30000
                        shadow: {minCosine: 0.999, minCompared: 10}
                """);
        Await.until("simple's rollout of 4 aborted", () -> rollout("simple").getCandidateVersion().equals("4")
                && rollout("simple").getState().equals("ABORTED"));
        var r = rollout("simple");
        assertTrue(r.getNote().contains("gate shadow_max_abs_diff broken"), r.getNote());
        assertEquals(0, r.getCanary().getServerFaults(), "its errors are fine");
        assertEquals(failuresBefore, load.failures.get(), "no call failed: " + load.lastFailure);
        var routing = registryWriter().getRouting(GetRoutingRequest.newBuilder().setModel("simple").build());
        assertEquals("2", routing.getStableVersion());
        assertEquals(0, routing.getCanaryWeight());
        print("shadow gate stops a deliberately wrong simple:4", rolloutAudit("simple").stream()
                .filter(a -> a.getVersion().equals("4")).toList());
    }

    @Test
    @Order(5)
    void aPersonsAbortWinsOverTheSchedule() throws Exception {
        load.model = "simple";
        declare("""
                models:
                  - name: simple
                    stable: 2
                    canary: 1
                    rollout:
                      steps:
                        - {weight: 30, hold: 1h}
                      analysis: {minCalls: 20, maxErrorRateDelta: 0.05}
                """);
        Await.until("rollout of simple 1 running", () -> rollout("simple").getCandidateVersion().equals("1")
                && rollout("simple").getState().equals("RUNNING"));
        String out = maasctl("rollout", "abort", "simple", "--reason", "not today");
        assertTrue(out.contains("ABORTED"), out);
        var routing = registryWriter().getRouting(GetRoutingRequest.newBuilder().setModel("simple").build());
        assertEquals(0, routing.getCanaryWeight());
        assertEquals("2", routing.getStableVersion());
        var last = rolloutAudit("simple").get(rolloutAudit("simple").size() - 1);
        assertEquals("admin", last.getActor());
        assertTrue(last.getReason().contains("aborted by admin: not today"), last.getReason());
    }

    @Test
    @Order(6)
    void aPersonsPromoteWinsOverTheSchedule() throws Exception {
        load.model = "simple";
        long failuresBefore = load.failures.get();
        declare("""
                models:
                  - name: simple
                    stable: 2
                    canary: 1
                    rollout:
                      steps:
                        - {weight: 40, hold: 1h}
                        - {weight: 80, hold: 1h}
                      analysis: {minCalls: 20, maxErrorRateDelta: 0.05}
                """);
        Await.until("a new rollout of simple 1 running", () -> rollout("simple").getCandidateVersion().equals("1")
                && rollout("simple").getState().equals("RUNNING"));
        String out = maasctl("rollout", "promote", "simple");
        assertTrue(out.contains("PROMOTED") && out.contains("candidate 1 is now stable"), out);
        var routing = registryWriter().getRouting(GetRoutingRequest.newBuilder().setModel("simple").build());
        assertEquals("1", routing.getStableVersion(), "promoted in its first step of two");
        assertEquals("", routing.getCanaryVersion());
        var last = rolloutAudit("simple").get(rolloutAudit("simple").size() - 1);
        assertEquals("RolloutPromoted", last.getAction());
        assertEquals("admin", last.getActor());
        long calls = load.calls.get();
        Await.until("100 more calls", () -> load.calls.get() >= calls + 100);
        assertEquals(failuresBefore, load.failures.get(), "no call failed: " + load.lastFailure);
    }

    // ---- helpers ----

    static void declare(String yaml) throws IOException {
        Path tmp = WORK.resolve("routing.yaml.tmp");
        Files.writeString(tmp, yaml);
        Files.move(tmp, WORK.resolve("routing.yaml"), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    static Rollout rollout(String model) {
        return ModelRegistryGrpc.newBlockingStub(registryChannel).withDeadlineAfter(5, TimeUnit.SECONDS)
                .getRollout(GetRolloutRequest.newBuilder().setModel(model).build());
    }

    static ModelRegistryGrpc.ModelRegistryBlockingStub registryWriter() {
        Metadata h = new Metadata();
        h.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + ADMIN);
        return ModelRegistryGrpc.newBlockingStub(registryChannel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(h))
                .withDeadlineAfter(10, TimeUnit.SECONDS);
    }

    /** The model's Rollout* audit records of its latest rollouts, oldest first. */
    static List<AuditRecord> rolloutAudit(String model) {
        var page = registryWriter().listAudit(ListAuditRequest.newBuilder().setModel(model).setPageSize(1000).build());
        var all = new ArrayList<>(page.getRecordsList().stream().filter(a -> a.getAction().startsWith("Rollout")).toList());
        all.sort(Comparator.comparingLong(AuditRecord::getId));
        // From the last RolloutStarted of the candidate at hand.
        int start = 0;
        for (int i = 0; i < all.size(); i++) {
            if (all.get(i).getAction().equals("RolloutStarted")) {
                start = i;
            }
        }
        return all.subList(start, all.size());
    }

    static void print(String title, List<AuditRecord> log) {
        System.out.println("=== audit log: " + title);
        for (var a : log) {
            System.out.printf("%s %-16s %-22s %s/%s %s%n", Instant.ofEpochMilli(a.getAtMs()), a.getActor(), a.getAction(),
                    a.getModel(), a.getVersion(), a.getReason());
        }
    }

    static void awaitRegistry() {
        Await.until("registry on " + REGISTRY_GRPC, () -> {
            ModelRegistryGrpc.newBlockingStub(registryChannel).withDeadlineAfter(2, TimeUnit.SECONDS)
                    .listModels(ListModelsRequest.getDefaultInstance());
            return true;
        });
    }

    static String maasctl(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-jar",
                ROOT.resolve("maasctl/target/maasctl.jar").toString()));
        cmd.addAll(List.of(args));
        var pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("MAAS_REGISTRY_ADDRESS", "127.0.0.1:" + REGISTRY_GRPC);
        pb.environment().put("MAAS_REGISTRY_TOKEN", ADMIN);
        var p = pb.start();
        var out = new ByteArrayOutputStream();
        p.getInputStream().transferTo(out);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        String text = out.toString(StandardCharsets.UTF_8);
        System.out.println("$ maasctl " + String.join(" ", args) + "\n" + text);
        assertEquals(0, p.exitValue(), text);
        return text;
    }

    static ManagedChannel channel(int port) {
        return ManagedChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    }

    static ModelInferRequest simple(int i) {
        var b = ModelInferRequest.newBuilder().setModelName("simple");
        for (String name : List.of("INPUT0", "INPUT1")) {
            b.addInputs(InferInputTensor.newBuilder().setName(name).setDatatype("FP32").addShape(1).addShape(16));
            ByteBuffer buf = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
            for (int k = 0; k < 16; k++) {
                buf.putFloat(name.equals("INPUT0") ? i + k : 1f);
            }
            b.addRawInputContents(ByteString.copyFrom(buf.array()));
        }
        return b.build();
    }

    static ModelInferRequest minilm(int i) {
        long[] ids = { 101, 7592 + i % 50, 2088, 2003 + i % 7, 102 };
        var b = ModelInferRequest.newBuilder().setModelName("minilm");
        ByteBuffer idBuf = ByteBuffer.allocate(8 * ids.length).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer ones = ByteBuffer.allocate(8 * ids.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long id : ids) {
            idBuf.putLong(id);
            ones.putLong(1);
        }
        for (String name : List.of("input_ids", "attention_mask", "token_type_ids")) {
            b.addInputs(InferInputTensor.newBuilder().setName(name).setDatatype("INT64").addShape(1).addShape(ids.length));
        }
        return b.addRawInputContents(ByteString.copyFrom(idBuf.array())).addRawInputContents(ByteString.copyFrom(ones.array()))
                .addRawInputContents(ByteString.copyFrom(new byte[8 * ids.length])).build();
    }

    /** The client: calls alternate between the routers, bounded in count and time, paced to spare the shared machine. */
    static final class Load extends Thread {
        final AtomicBoolean running = new AtomicBoolean(true);
        final AtomicBoolean useRouter1 = new AtomicBoolean(true);
        final AtomicLong calls = new AtomicLong();
        final AtomicLong failures = new AtomicLong();
        volatile String lastFailure = "";
        volatile String model = "simple";
        final long deadline = System.nanoTime() + Duration.ofMinutes(15).toNanos();

        Load() {
            super("rollout-load");
            setDaemon(true);
        }

        @Override
        public void run() {
            for (int i = 0; running.get() && i < 200_000 && System.nanoTime() < deadline; i++) {
                int r = useRouter1.get() ? i % 2 : 0;
                boolean mini = model.equals("minilm");
                try {
                    GRPCInferenceServiceGrpc.newBlockingStub(routerChannels[r]).withDeadlineAfter(30, TimeUnit.SECONDS)
                            .modelInfer(mini ? minilm(i) : simple(i));
                } catch (RuntimeException e) {
                    failures.incrementAndGet();
                    lastFailure = "router " + r + ": " + e.getMessage();
                }
                calls.incrementAndGet();
                try {
                    Thread.sleep(mini ? 40 : 4);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        void halt() throws InterruptedException {
            running.set(false);
            join(60_000);
        }
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
