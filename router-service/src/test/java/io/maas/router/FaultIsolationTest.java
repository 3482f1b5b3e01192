package io.maas.router;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

import jakarta.inject.Inject;

import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import com.google.protobuf.ByteString;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.maas.auth.RequestBudget;
import io.maas.proto.inference.GRPCInferenceServiceGrpc;
import io.maas.proto.inference.ModelInferRequest;
import io.maas.proto.inference.ModelInferResponse;
import io.maas.proto.inference.ModelInferRequest.InferInputTensor;
import io.maas.proto.registry.CreateModelRequest;
import io.maas.proto.registry.RegisterVersionRequest;
import io.maas.proto.registry.SetRoutingRequest;
import io.maas.proto.registry.TensorSpec;
import io.maas.router.api.DataPlaneServer;
import io.maas.router.domain.RoutingTable;
import io.maas.testsupport.Await;
import io.maas.testsupport.FreePorts;
import io.maas.testsupport.TinyModelJson;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.junit.QuarkusTest;

/**
 * One bad caller must never hurt another, over real processes: a registry, two inference pods
 * serving MiniLM (batched, v1 stable, v2 canary at 30%) and the tiny model, and this router. Four
 * well-behaved clients send valid calls while three poison clients flood it with every kind of
 * caller mistake (token ids outside MiniLM's vocabulary, which only ONNX Runtime notices, joined
 * into the good clients' batches; wrong shapes; unknown models and versions; oversized messages and
 * headers). Midway one pod is killed with SIGKILL, later the registry is stopped. The good clients'
 * success rate is reported and must be at least 99.9%; no canary is aborted and the surviving pod
 * is never ejected because of the poison.
 */
@QuarkusTest
@QuarkusTestResource(value = FaultIsolationTest.Processes.class, restrictToAnnotatedClass = true)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FaultIsolationTest {
    /**
     * ModelInfer as a streaming call: grpc-java flushes a unary call's message only when it half-closes,
     * and these calls must send their message and stay open. On the wire it is the same call.
     */
    private static final MethodDescriptor<ModelInferRequest, ModelInferResponse> HELD_INFER =
            GRPCInferenceServiceGrpc.getModelInferMethod().toBuilder().setType(MethodDescriptor.MethodType.BIDI_STREAMING).build();

    static final int MAX_MESSAGE = 4 * 1024 * 1024;

    @io.quarkus.test.common.http.TestHTTPResource("/")
    java.net.URL http;
    static final int GOOD_CALLS_PER_CLIENT = 400;

    public static class Processes implements QuarkusTestResourceLifecycleManager {
        static final Path WORK = Cluster.ROOT.resolve("router-service/target/it-faults");
        static final int REGISTRY_GRPC = FreePorts.take();
        static final int[] POD_GRPC = { FreePorts.take(), FreePorts.take() };
        static final int[] POD_HTTP = { FreePorts.take(), FreePorts.take() };
        static Process registry;
        static final Process[] pods = new Process[2];

        @Override
        public Map<String, String> start() {
            try {
                Cluster.deleteTree(WORK);
                Files.createDirectories(WORK.resolve("repo"));
                for (String m : List.of("minilm", "simple")) {
                    Files.createSymbolicLink(WORK.resolve("repo/" + m), Cluster.ROOT.resolve("models/target/repository/" + m));
                }
                registry = Cluster.java(Cluster.ROOT.resolve("model-registry/target/quarkus-app/quarkus-run.jar"), List.of(),
                        Map.of("MAAS_GRPC_PORT", "" + REGISTRY_GRPC, "MAAS_HTTP_PORT", "" + FreePorts.take(),
                                "MAAS_REGISTRY_DATA_DIR", WORK.resolve("registry-data").toString()),
                        WORK.resolve("registry.log"));
                for (int i = 0; i < 2; i++) {
                    pods[i] = Cluster.java(Cluster.ROOT.resolve("inference-service/target/quarkus-app/quarkus-run.jar"),
                            List.of("--model-repository", WORK.resolve("repo").toString()),
                            Map.of("MAAS_GRPC_PORT", "" + POD_GRPC[i], "MAAS_HTTP_PORT", "" + POD_HTTP[i],
                                    "MAAS_ONNX_INTRA_OP_THREADS", "1", "ORT_DISABLE_TELEMETRY", "1",
                                    "MAAS_MAX_MESSAGE_BYTES", "" + MAX_MESSAGE),
                            WORK.resolve("pod-" + i + ".log"));
                }
                ManagedChannel ch = Cluster.channel(REGISTRY_GRPC);
                try {
                    Cluster.await("registry", () -> Cluster.registryStub(ch)
                            .listModels(io.maas.proto.registry.ListModelsRequest.getDefaultInstance()) != null);
                    seed(ch);
                } finally {
                    ch.shutdownNow();
                }
                for (int port : POD_GRPC) {
                    Cluster.awaitInference(port);
                }
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            StringBuilder endpoints = new StringBuilder();
            for (String key : List.of("minilm:1", "minilm:2", "simple:1", "simple:2")) {
                endpoints.append(endpoints.isEmpty() ? "" : ";").append(key).append('=')
                        .append("127.0.0.1:").append(POD_GRPC[0]).append('/').append(POD_HTTP[0]).append(',')
                        .append("127.0.0.1:").append(POD_GRPC[1]).append('/').append(POD_HTTP[1]);
            }
            return Map.ofEntries(Map.entry("maas.registry.address", "127.0.0.1:" + REGISTRY_GRPC),
                    Map.entry("maas.endpoints.source", "static"),
                    Map.entry("maas.static-endpoints", endpoints.toString()),
                    Map.entry("maas.balancer.max-message-bytes", "" + MAX_MESSAGE),
                    Map.entry("maas.balancer.max-request-bytes-in-flight", "" + 2 * MAX_MESSAGE),
                    // how long a request may take to arrive, whatever its caller's deadline
                    Map.entry("maas.balancer.default-timeout-ms", "20000"),
                    // 1 MiB of unread answers per connection
                    Map.entry("maas.balancer.max-answer-bytes-waiting", "" + 4 * 1024 * 1024),
                    // a strict guard: any caller error counted as the canary's would abort it
                    Map.entry("maas.canary.window-seconds", "10"),
                    Map.entry("maas.canary.min-requests", "20"),
                    Map.entry("maas.canary.max-error-rate-delta", "0.02"),
                    Map.entry("maas.canary.max-p99-ms", "0"));
        }

        static void seed(ManagedChannel ch) {
            var stub = Cluster.registryStub(ch);
            for (String model : List.of("minilm", "simple")) {
                stub.createModel(CreateModelRequest.newBuilder().setName(model).build());
                for (String v : List.of("1", "2")) {
                    var req = RegisterVersionRequest.newBuilder().setModel(model).setVersion(v)
                            .setArtifactUri("file:///models/" + model + "/" + v + "/model.onnx").setSha256("0".repeat(64))
                            .setFramework("onnx");
                    if (model.equals("minilm")) {
                        for (String in : List.of("input_ids", "attention_mask", "token_type_ids")) {
                            req.addInputs(TensorSpec.newBuilder().setName(in).setDatatype("INT64").addShape(-1).addShape(-1));
                        }
                        req.addOutputs(TensorSpec.newBuilder().setName("last_hidden_state").setDatatype("FP32")
                                .addShape(-1).addShape(-1).addShape(384));
                    } else {
                        for (String in : List.of("INPUT0", "INPUT1")) {
                            req.addInputs(TensorSpec.newBuilder().setName(in).setDatatype("FP32").addShape(-1).addShape(16));
                        }
                        for (String out : List.of("OUTPUT0", "OUTPUT1")) {
                            req.addOutputs(TensorSpec.newBuilder().setName(out).setDatatype("FP32").addShape(-1).addShape(16));
                        }
                    }
                    stub.registerVersion(req.build());
                }
                stub.setRouting(SetRoutingRequest.newBuilder().setModel(model).setStableVersion("1").setCanaryVersion("2")
                        .setCanaryWeight(30).setReason("fault isolation test").build());
            }
        }

        @Override
        public void stop() {
            for (Process p : pods) {
                Cluster.stop(p);
            }
            Cluster.stop(registry);
        }
    }

    @Inject
    DataPlaneServer dataPlane;
    @Inject
    RoutingTable table;
    @Inject
    MeterRegistry meters;

    static ByteString int64(long[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            b.putLong(v);
        }
        return ByteString.copyFrom(b.array());
    }

    /** MiniLM input of {@code len} tokens; ids beyond the vocabulary (30522) when {@code poison}. */
    static ModelInferRequest minilm(int len, boolean poison, String version) {
        long[] ids = new long[len];
        long[] ones = new long[len];
        for (int k = 0; k < len; k++) {
            ids[k] = k == 0 ? 101 : k == len - 1 ? 102 : poison ? 999_999 : 1000 + 37L * k;
            ones[k] = 1;
        }
        ModelInferRequest.Builder b = ModelInferRequest.newBuilder().setModelName("minilm").setModelVersion(version);
        for (String name : List.of("input_ids", "attention_mask", "token_type_ids")) {
            b.addInputs(InferInputTensor.newBuilder().setName(name).setDatatype("INT64").addShape(1).addShape(len));
        }
        return b.addRawInputContents(int64(ids)).addRawInputContents(int64(ones)).addRawInputContents(int64(new long[len]))
                .build();
    }

    static ModelInferRequest simple(String model, String version, int width) {
        ModelInferRequest.Builder b = ModelInferRequest.newBuilder().setModelName(model).setModelVersion(version);
        for (String name : List.of("INPUT0", "INPUT1")) {
            b.addInputs(InferInputTensor.newBuilder().setName(name).setDatatype("FP32").addShape(1).addShape(width));
            b.addRawInputContents(ByteString.copyFrom(new byte[width * 4]));
        }
        return b.build();
    }

    /** The poison, in turn: each kind with the status the caller must get. */
    record Poison(String kind, Status.Code expected, ModelInferRequest request, Map<String, String> headers) {
    }

    static List<Poison> poisons() {
        return List.of(
                new Poison("out-of-vocabulary ids", Status.Code.INVALID_ARGUMENT, minilm(12, true, ""), Map.of()),
                new Poison("wrong shape", Status.Code.INVALID_ARGUMENT, simple("simple", "", 15), Map.of()),
                new Poison("unknown model", Status.Code.NOT_FOUND, simple("no-such-model", "", 16), Map.of()),
                new Poison("unknown version", Status.Code.NOT_FOUND, simple("simple", "999", 16), Map.of()),
                new Poison("unknown pinned version", Status.Code.NOT_FOUND, simple("simple", "", 16),
                        Map.of("x-model-version", "abc")),
                new Poison("oversized message", Status.Code.RESOURCE_EXHAUSTED,
                        simple("simple", "", MAX_MESSAGE / 8 + 1024), Map.of()),
                new Poison("oversized headers", Status.Code.RESOURCE_EXHAUSTED, simple("simple", "", 16),
                        Map.of("x-junk", "j".repeat(12 * 1024))),
                // beyond what HTTP/2 takes at all: that one stream is reset, the connection and its other calls go on
                new Poison("headers over the HTTP/2 limit", Status.Code.INTERNAL, simple("simple", "", 16),
                        Map.of("x-junk", "j".repeat(20 * 1024))));
    }

    static GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub stub(ManagedChannel ch, Map<String, String> headers) {
        Metadata md = new Metadata();
        headers.forEach((k, v) -> md.put(Metadata.Key.of(k, Metadata.ASCII_STRING_MARSHALLER), v));
        return GRPCInferenceServiceGrpc.newBlockingStub(ch).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md))
                .withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    static Thread started(String name, Runnable body) {
        Thread t = new Thread(body, name);
        t.start();
        return t;
    }

    double counter(String name, String... tags) {
        return meters.find(name).tags(tags).counters().stream().mapToDouble(Counter::count).sum();
    }

    /** A caller mistake, as gRPC; the same mistake sent to the router and straight to a pod. */
    record Mistake(String kind, ModelInferRequest request) {
    }

    static List<Mistake> mistakes() {
        ModelInferRequest good = simple("simple", "1", 16);
        return List.of(
                new Mistake("out-of-vocabulary ids", minilm(12, true, "1")),
                new Mistake("more tokens than max_input_elements", minilm(4097, false, "1")),
                new Mistake("wrong shape", simple("simple", "1", 15)),
                new Mistake("unknown model", simple("no-such-model", "", 16)),
                new Mistake("unknown version", simple("simple", "999", 16)),
                new Mistake("non-numeric version", simple("simple", "abc", 16)),
                new Mistake("wrong datatype", good.toBuilder().setInputs(0, good.getInputs(0).toBuilder().setDatatype("INT32"))
                        .build()),
                new Mistake("missing input", good.toBuilder().removeInputs(1).clearRawInputContents()
                        .addRawInputContents(good.getRawInputContents(0)).build()),
                new Mistake("unknown input", good.toBuilder().setInputs(1, good.getInputs(1).toBuilder().setName("NOPE"))
                        .build()),
                new Mistake("unknown output requested", good.toBuilder().addOutputs(
                        ModelInferRequest.InferRequestedOutputTensor.newBuilder().setName("NOPE")).build()),
                new Mistake("raw contents of the wrong length",
                        good.toBuilder().setRawInputContents(0, ByteString.copyFrom(new byte[10])).build()),
                new Mistake("no model name", simple("", "", 16)),
                new Mistake("oversized message", simple("simple", "1", MAX_MESSAGE / 8 + 1024)));
    }

    @Test
    @Order(0)
    void largeRequestsOverTheRoutersBudgetAreRefusedAloneWhileTheyAreRead() throws Exception {
        ManagedChannel router = Cluster.channel(dataPlane.port());
        double refusedBefore = counter("maas.router.requests.over.budget");
        // just under the message limit, one float short of the shape the tiny model takes: read whole, then refused by it
        ModelInferRequest large = simple("simple", "1", MAX_MESSAGE / 8 - 1024);
        List<ClientCall<ModelInferRequest, ModelInferResponse>> held = new ArrayList<>();
        try {
            // two calls whose messages are sent but which never half-close: the router holds their bodies (~8 MiB)
            for (int i = 0; i < 2; i++) {
                ClientCall<ModelInferRequest, ModelInferResponse> call = router.newCall(HELD_INFER, CallOptions.DEFAULT.withDeadlineAfter(60, TimeUnit.SECONDS));
                call.start(new ClientCall.Listener<>() {
                }, new Metadata());
                call.request(1);
                call.sendMessage(large);
                held.add(call);
                double atLeast = (i + 1) * 0.9 * large.getSerializedSize() - 2 * RequestBudget.FREE_BYTES;
                Await.until("the router holds large request " + i, () -> heldBytes() >= atLeast);
            }
            // a third would pass 2 x 4 MiB: refused, saying why, before any pod sees it
            StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
                    () -> stub(router, Map.of()).modelInfer(large));
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode(), e.getStatus().toString());
            assertTrue(e.getStatus().getDescription().contains("the router holds")
                    && e.getStatus().getDescription().contains("MAAS_MAX_REQUEST_BYTES_IN_FLIGHT"), e.getStatus().toString());
            assertEquals(refusedBefore + 1, counter("maas.router.requests.over.budget"));
            // small calls on the same connection go on
            for (int i = 0; i < 20; i++) {
                assertEquals("simple", stub(router, Map.of()).modelInfer(simple("simple", "1", 16)).getModelName());
            }
            // the REST twin takes from the same budget, before it reads a body: 400 KB of JSON is refused at once
            double refusedBeforeRest = counter("maas.router.requests.over.budget");
            String refused = given().body(TinyModelJson.request(100_000)).contentType("application/json").post("/v2/models/simple/infer")
                    .then().statusCode(429).extract().asString();
            assertTrue(refused.contains("the router holds") && refused.contains("MAAS_MAX_REQUEST_BYTES_IN_FLIGHT"), refused);
            assertEquals(refusedBeforeRest + 1, counter("maas.router.requests.over.budget"));
            // a small body is never counted
            given().body(TinyModelJson.request(16)).contentType("application/json").post("/v2/models/simple/infer").then().statusCode(200);
        } finally {
            held.forEach(call -> call.cancel("done", null));
        }
        try {
            Await.until("the held bytes come back", () -> heldBytes() == 0);
            // read whole again: the pod refuses its shape, the caller's mistake
            assertEquals(Status.Code.INVALID_ARGUMENT, answer(router, large).getCode());
            given().body(TinyModelJson.request(100_000)).contentType("application/json").post("/v2/models/simple/infer").then().statusCode(400);
            Await.until("the REST call's bytes come back", () -> heldBytes() == 0);
        } finally {
            router.shutdownNow();
        }
        assertEquals(0, counter("maas.router.ejections"), "large requests ejected a pod");
    }

    /** A caller that stops reading its answers makes the router hold them only up to a bound. */
    @Test
    @Order(0)
    void aCallerThatDoesNotReadItsAnswersIsRefusedMoreOfThem() throws Exception {
        // a 1 KiB HTTP/2 window and no message ever requested: the answers wait in the router
        ManagedChannel slow = io.grpc.netty.NettyChannelBuilder.forAddress("127.0.0.1", dataPlane.port()).usePlaintext()
                .flowControlWindow(1024).build();
        ManagedChannel router = Cluster.channel(dataPlane.port());
        double refusedBefore = counter("maas.router.answers.refused");
        ModelInferRequest request = minilm(256, false, "1"); // a 393 KB answer
        List<ClientCall<ModelInferRequest, ModelInferResponse>> calls = new ArrayList<>();
        try {
            for (int i = 1; i <= 2; i++) {
                calls.add(unread(slow, request, new java.util.concurrent.CompletableFuture<>()));
                long atLeast = i * 380_000L;
                Await.until("answer " + i + " waits in the router", () -> dataPlane.answersWaiting() >= atLeast);
            }
            // a third would take this connection past 1 MiB: refused, saying why
            var closed = new java.util.concurrent.CompletableFuture<Status>();
            calls.add(unread(slow, request, closed));
            Status status = closed.get(30, TimeUnit.SECONDS);
            assertEquals(Status.Code.RESOURCE_EXHAUSTED, status.getCode(), status.toString());
            assertTrue(status.getDescription().contains("has not read") && status.getDescription().contains("MAAS_MAX_ANSWER_BYTES_WAITING"),
                    status.toString());
            assertEquals(refusedBefore + 1, counter("maas.router.answers.refused"));
            // a caller that reads gets its answers meanwhile
            for (int i = 0; i < 3; i++) {
                assertEquals(1, stub(router, Map.of()).modelInfer(request).getOutputsCount());
            }
        } finally {
            calls.forEach(c -> c.cancel("done", null));
            slow.shutdownNow();
            router.shutdownNow();
        }
        Await.until("the unread answers are dropped with their connection", () -> dataPlane.answersWaiting() == 0);
        assertEquals(0, counter("maas.router.ejections"), "an unread answer ejected a pod");
    }

    /**
     * Callers that do not read, each within its quarter, together reach the router's whole bound: the
     * connection holding the most is closed, and a caller that reads is never refused for it.
     */
    @Test
    @Order(0)
    void whenNonReadersTogetherReachTheBoundTheLargestIsClosed() throws Exception {
        ManagedChannel router = Cluster.channel(dataPlane.port());
        double evictedBefore = counter("maas.router.answer.evictions");
        ModelInferRequest request = minilm(256, false, "1"); // a 393 KB answer
        List<ManagedChannel> slow = new ArrayList<>();
        try {
            // two unread answers on each of six connections: 4.7 MB against the test's 4 MiB
            for (int c = 0; c < 6 && counter("maas.router.answer.evictions") == evictedBefore; c++) {
                ManagedChannel ch = io.grpc.netty.NettyChannelBuilder.forAddress("127.0.0.1", dataPlane.port())
                        .usePlaintext().flowControlWindow(1024).build();
                slow.add(ch);
                for (int i = 0; i < 2; i++) {
                    unread(ch, request, new java.util.concurrent.CompletableFuture<>());
                    long atLeast = dataPlane.answersWaiting() + 380_000L;
                    Await.until("an answer waits or a connection is closed", () -> dataPlane.answersWaiting() >= atLeast
                            || counter("maas.router.answer.evictions") > evictedBefore);
                }
                assertEquals(1, stub(router, Map.of()).modelInfer(request).getOutputsCount(), "a reader was refused");
            }
            assertEquals(evictedBefore + 1, counter("maas.router.answer.evictions"));
            // one connection holding two answers (as much as any) is closed, no other (grpc-java holds back
            // the status of calls with unrequested messages, so the channels tell)
            Await.until("a connection is closed", () -> slow.stream()
                    .filter(ch -> ch.getState(false) != io.grpc.ConnectivityState.READY).count() == 1);
            assertTrue(dataPlane.answersWaiting() <= 4 * 1024 * 1024, "held " + dataPlane.answersWaiting());
            assertEquals(1, stub(router, Map.of()).modelInfer(request).getOutputsCount());
        } finally {
            slow.forEach(ManagedChannel::shutdownNow);
            router.shutdownNow();
        }
        Await.until("the unread answers are dropped with their connections", () -> dataPlane.answersWaiting() == 0);
        assertEquals(0, counter("maas.router.ejections"), "an unread answer ejected a pod");
    }

    /**
     * The REST twin under the same bound: a caller pipelining HTTP/1.1 requests without reading the
     * answers has its connection closed once it holds its quarter, and the router holds nothing more.
     */
    @Test
    @Order(0)
    void aRestCallerPipeliningWithoutReadingIsDisconnected() throws Exception {
        double refusedBefore = counter("maas.router.answers.refused");
        StringBuilder ids = new StringBuilder("101");
        for (int k = 1; k < 255; k++) {
            ids.append(',').append(1000 + 37 * k);
        }
        String json = "{\"inputs\":[{\"name\":\"input_ids\",\"shape\":[1,256],\"datatype\":\"INT64\",\"data\":["
                + ids + ",102]},{\"name\":\"attention_mask\",\"shape\":[1,256],\"datatype\":\"INT64\",\"data\":["
                + "1,".repeat(255) + "1]},{\"name\":\"token_type_ids\",\"shape\":[1,256],\"datatype\":\"INT64\",\"data\":["
                + "0,".repeat(255) + "0]}]}"; // a ~1.1 MB JSON answer
        byte[] body = json.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        byte[] call = ("POST /v2/models/minilm/versions/1/infer HTTP/1.1\r\nHost: router\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + body.length + "\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        try (java.net.Socket socket = new java.net.Socket()) {
            socket.setReceiveBufferSize(4096);
            socket.connect(new java.net.InetSocketAddress("127.0.0.1", http.getPort()));
            socket.setSoTimeout(30_000);
            var out = socket.getOutputStream();
            // more answers than the kernel's buffers and the connection's 1 MiB quarter take, never read
            for (int i = 0; i < 12 && counter("maas.router.answers.refused") == refusedBefore; i++) {
                out.write(call);
                out.write(body);
                out.flush();
                Thread.sleep(200);
            }
            Await.until("the connection is refused an answer", () -> counter("maas.router.answers.refused") > refusedBefore);
            Await.until("its answers are dropped", () -> dataPlane.answersWaiting() == 0);
            // what the kernel had taken is read, then the router's close
            var in = socket.getInputStream();
            byte[] sink = new byte[65536];
            try {
                while (in.read(sink) >= 0) {
                    // drain
                }
            } catch (java.net.SocketException reset) {
                // closed with answers unread: a reset is as good as the end
            }
        }
        given().body(TinyModelJson.request(16)).contentType("application/json").post("/v2/models/simple/infer").then().statusCode(200);
        assertEquals(0, counter("maas.router.ejections"), "an unread answer ejected a pod");
    }

    /**
     * A caller that sends part of a large message and stalls, keeping its connection open, holds the
     * router's request budget only until its call is answered, though it keeps the stream and the
     * connection open: its request must arrive within the router's default deadline (20 s here), however
     * late its own (an hour). Plain HTTP/2 frames on a socket, since gRPC clients never leave
     * a message half sent.
     */
    @Test
    @Order(0)
    void aCallerStallingMidMessageHoldsTheBudgetOnlyUntilItsCallIsAnswered() throws Exception {
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", dataPlane.port())) {
            socket.setSoTimeout(30_000);
            var out = new java.io.DataOutputStream(new java.io.BufferedOutputStream(socket.getOutputStream()));
            var in = new java.io.DataInputStream(new java.io.BufferedInputStream(socket.getInputStream()));
            out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            frame(out, 0x4, 0, 0, new byte[0]); // SETTINGS, none changed
            // the router's settings and its connection window (1 MiB) before sending more than 64 KiB
            boolean settings = false;
            boolean window = false;
            while (!settings || !window) {
                int[] f = readFrame(in);
                settings |= f[0] == 0x4 && (f[1] & 0x1) == 0;
                window |= f[0] == 0x8 && f[2] == 0;
            }
            var headers = new java.io.ByteArrayOutputStream();
            for (String[] h : new String[][] {{":method", "POST"}, {":scheme", "http"}, {":authority", "router"},
                    {":path", "/inference.GRPCInferenceService/ModelInfer"}, {"content-type", "application/grpc"},
                    {"te", "trailers"}, {"grpc-timeout", "3600S"}}) {
                headers.write(0); // literal header field without indexing, new name (RFC 7541 §6.2.2)
                for (String part : h) {
                    headers.write(part.length());
                    headers.write(part.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                }
            }
            frame(out, 0x1, 0x4, 1, headers.toByteArray()); // HEADERS, END_HEADERS
            byte[] data = new byte[16384];
            ByteBuffer.wrap(data).put((byte) 0).putInt(4 * 1024 * 1024 - 1024); // a message of 4 MiB declared
            for (int i = 0; i < 20; i++) { // 320 KiB of it sent, then nothing
                frame(out, 0x0, 0, 1, data);
                data = new byte[16384];
            }
            Await.until("the router holds the request's bytes", () -> heldBytes() > 200_000);
            // answered at the router's default deadline: trailers (HEADERS with END_STREAM) on the call's stream
            int[] f;
            do {
                f = readFrame(in);
            } while (!(f[0] == 0x1 && f[2] == 1 && (f[1] & 0x1) != 0));
            Await.until("the request's bytes come back while the connection stays open", () -> heldBytes() == 0);
            assertTrue(!socket.isClosed());
        }
    }

    /**
     * REST callers that declare a large body and stall part-way hold only what they sent, not what they
     * declared: three that declare 2 MiB each (6 MiB held 3 times, the test's whole 8 MiB budget, until the
     * connections idled out) leave room for a caller that sends its body.
     */
    @Test
    @Order(0)
    void restCallersThatDeclareMuchAndSendLittleHoldOnlyWhatTheySent() throws Exception {
        List<java.net.Socket> stalled = new ArrayList<>();
        int sent = 70_000; // past the free 64 KiB, so it is counted
        try {
            for (int i = 0; i < 3; i++) {
                java.net.Socket socket = new java.net.Socket("127.0.0.1", http.getPort());
                stalled.add(socket);
                socket.getOutputStream().write(("POST /v2/models/simple/infer HTTP/1.1\r\nHost: router\r\n"
                        + "Content-Type: application/json\r\nContent-Length: " + 2 * 1024 * 1024 + "\r\n\r\n")
                        .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                socket.getOutputStream().write(new byte[sent]);
                socket.getOutputStream().flush();
            }
            long counted = 3 * (sent - RequestBudget.FREE_BYTES) * 3;
            Await.until("the stalled bodies are counted as they came", () -> heldBytes() >= counted);
            assertEquals(counted, heldBytes(), "what the stalled callers sent, 3 times, beyond the free bytes");
            given().body(TinyModelJson.request(100_000)).contentType("application/json").post("/v2/models/simple/infer")
                    .then().statusCode(400); // admitted, read whole; its shape is the caller's mistake
        } finally {
            for (java.net.Socket socket : stalled) {
                socket.close();
            }
        }
        Await.until("the stalled callers' bytes come back with their connections", () -> heldBytes() == 0);
    }

    /** Writes one HTTP/2 frame. */
    private static void frame(java.io.DataOutputStream out, int type, int flags, int stream, byte[] payload) throws IOException {
        out.writeByte(payload.length >>> 16);
        out.writeShort(payload.length & 0xFFFF);
        out.writeByte(type);
        out.writeByte(flags);
        out.writeInt(stream);
        out.write(payload);
        out.flush();
    }

    /** Reads one HTTP/2 frame: type, flags, stream and (for RST_STREAM) the error code. */
    private static int[] readFrame(java.io.DataInputStream in) throws IOException {
        int length = (in.readUnsignedByte() << 16) | in.readUnsignedShort();
        int type = in.readUnsignedByte();
        int flags = in.readUnsignedByte();
        int stream = in.readInt() & 0x7FFFFFFF;
        byte[] payload = in.readNBytes(length);
        int code = type == 0x3 ? ByteBuffer.wrap(payload).getInt() : -1;
        return new int[] {type, flags, stream, code};
    }

    /** Starts a call whose answer is never read (no message requested); {@code closed} gets its status. */
    static ClientCall<ModelInferRequest, ModelInferResponse> unread(ManagedChannel ch, ModelInferRequest request,
            java.util.concurrent.CompletableFuture<Status> closed) {
        ClientCall<ModelInferRequest, ModelInferResponse> call = ch.newCall(GRPCInferenceServiceGrpc.getModelInferMethod(),
                CallOptions.DEFAULT.withDeadlineAfter(120, TimeUnit.SECONDS));
        call.start(new ClientCall.Listener<>() {
            @Override
            public void onClose(Status status, Metadata trailers) {
                closed.complete(status);
            }
        }, new Metadata());
        call.sendMessage(request);
        call.halfClose();
        return call;
    }

    /** From the budget itself: a gauge of a Quarkus app started earlier in this JVM may shadow the metric's. */
    double heldBytes() {
        return dataPlane.requestBudget().held();
    }

    @Test
    @Order(1)
    void theRouterAnswersEveryCallerMistakeAsThePodDoes() {
        ManagedChannel router = Cluster.channel(dataPlane.port());
        ManagedChannel pod = Cluster.channel(Processes.POD_GRPC[0]);
        List<String> differences = new ArrayList<>();
        try {
            for (Mistake m : mistakes()) {
                Status viaRouter = answer(router, m.request());
                Status direct = answer(pod, m.request());
                System.out.printf("mistake %-32s router %-18s pod %-18s | %s%n", m.kind(), viaRouter.getCode(),
                        direct.getCode(), viaRouter.getDescription());
                if (viaRouter.getCode() != direct.getCode() || viaRouter.isOk()) {
                    differences.add(m.kind() + ": router " + viaRouter + ", pod " + direct);
                }
                String description = String.valueOf(viaRouter.getDescription());
                if (description.length() < 20) {
                    differences.add(m.kind() + ": the router's message says too little: " + description);
                }
            }
        } finally {
            router.shutdownNow();
            pod.shutdownNow();
        }
        assertEquals(List.of(), differences);
        assertEquals(0, counter("maas.router.ejections"), "caller mistakes ejected a pod");
    }

    static Status answer(ManagedChannel ch, ModelInferRequest request) {
        try {
            stub(ch, Map.of()).modelInfer(request);
            return Status.OK;
        } catch (StatusRuntimeException e) {
            return e.getStatus();
        }
    }

    @Test
    @Order(2)
    void poisonFloodPodKillAndRegistryOutageLeaveGoodCallersServed() throws Exception {
        Cluster.await("routing for both models", () -> table.route("minilm") != null && table.route("simple") != null);
        ManagedChannel goodChannel = Cluster.channel(dataPlane.port());
        // the first poison client shares the good clients' connection: its mistakes must not tear it down
        List<ManagedChannel> poisonChannels = List.of(goodChannel, Cluster.channel(dataPlane.port()),
                Cluster.channel(dataPlane.port()));
        AtomicBoolean stop = new AtomicBoolean();
        LongAdder good = new LongAdder();
        Map<String, Integer> goodFailures = new ConcurrentHashMap<>();
        Map<String, Integer> poisonAnswers = new ConcurrentHashMap<>();
        Map<String, String> poisonMessages = new ConcurrentHashMap<>();
        AtomicInteger goodDone = new AtomicInteger();
        List<Thread> threads = new ArrayList<>();

        for (int p = 0; p < 3; p++) {
            ManagedChannel ch = poisonChannels.get(p);
            int offset = p;
            threads.add(started("poison-" + p, () -> {
                List<Poison> kinds = poisons();
                for (int i = offset; !stop.get(); i++) {
                    Poison poison = kinds.get(i % kinds.size());
                    String answer;
                    try {
                        stub(ch, poison.headers()).modelInfer(poison.request());
                        answer = "OK";
                    } catch (StatusRuntimeException e) {
                        answer = e.getStatus().getCode().name();
                        poisonMessages.putIfAbsent(poison.kind() + " -> " + answer, String.valueOf(e.getStatus().getDescription()));
                    }
                    poisonAnswers.merge(poison.kind() + " -> " + answer, 1, Integer::sum);
                }
            }));
        }
        for (int c = 0; c < 4; c++) {
            int client = c;
            threads.add(started("good-" + c, () -> {
                for (int i = 0; i < GOOD_CALLS_PER_CLIENT; i++) {
                    ModelInferRequest req = i % 2 == 0 ? minilm(8 + (i + client) % 9, false, "") : simple("simple", "", 16);
                    try {
                        stub(goodChannel, Map.of()).modelInfer(req);
                        good.increment();
                    } catch (StatusRuntimeException e) {
                        goodFailures.merge(req.getModelName() + " " + e.getStatus().getCode() + ": "
                                + e.getStatus().getDescription(), 1, Integer::sum);
                    }
                    int done = goodDone.incrementAndGet();
                    if (done == GOOD_CALLS_PER_CLIENT * 4 * 4 / 10) {
                        System.out.println("fault isolation: SIGKILL pod 1 (" + Processes.POD_GRPC[1] + ")");
                        Processes.pods[1].destroyForcibly();
                    } else if (done == GOOD_CALLS_PER_CLIENT * 4 * 7 / 10) {
                        System.out.println("fault isolation: stopping the registry");
                        Cluster.stop(Processes.registry);
                    }
                }
            }));
        }
        for (Thread t : threads.subList(3, 7)) {
            t.join(TimeUnit.MINUTES.toMillis(10));
        }
        stop.set(true);
        for (Thread t : threads.subList(0, 3)) {
            t.join(TimeUnit.MINUTES.toMillis(2));
        }
        goodChannel.shutdownNow();
        poisonChannels.forEach(ManagedChannel::shutdownNow);

        int total = GOOD_CALLS_PER_CLIENT * 4;
        double rate = good.sum() / (double) total;
        System.out.printf("fault isolation: good clients %d/%d succeeded (%.3f%%); failures %s%n", good.sum(), total,
                100 * rate, goodFailures);
        System.out.println("fault isolation: poison answers " + new TreeMap<>(poisonAnswers));
        new TreeMap<>(poisonMessages).forEach((k, v) -> System.out.println("  " + k + ": " + v));
        String survivor = "127.0.0.1:" + Processes.POD_GRPC[0];
        double survivorEjections = counter("maas.router.ejections", "endpoint", survivor);
        double aborts = counter("maas.router.canary.aborts");
        System.out.println("fault isolation: ejections of the surviving pod " + survivorEjections + ", canary aborts " + aborts
                + ", ejections in all " + counter("maas.router.ejections"));

        assertTrue(rate >= 0.999, "good clients' success rate " + rate + ": " + goodFailures);
        for (Poison p : poisons()) {
            String key = p.kind() + " -> " + p.expected().name();
            assertTrue(poisonAnswers.getOrDefault(key, 0) > 0, "no '" + key + "' in " + poisonAnswers);
            poisonAnswers.keySet().stream().filter(k -> k.startsWith(p.kind() + " -> ") && !k.equals(key)).findAny()
                    .ifPresent(k -> {
                        throw new AssertionError("poison answered otherwise: " + k + " " + poisonMessages.get(k));
                    });
        }
        assertEquals(0, survivorEjections, "the surviving pod was ejected");
        assertEquals(0, aborts, "a canary was aborted");
        assertEquals(30, table.route("minilm").canaryWeight());
        assertEquals(30, table.route("simple").canaryWeight());
    }
}
