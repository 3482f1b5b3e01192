package io.maas.router;

import io.maas.router.domain.Route;
import io.maas.router.domain.RoutingTable;
import io.maas.router.domain.ShadowRules;
import io.maas.router.api.ShadowMirror;
import io.micrometer.core.instrument.MeterRegistry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import com.google.protobuf.ByteString;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.maas.proto.inference.GRPCInferenceServiceGrpc;
import io.maas.proto.inference.ModelInferRequest;
import io.maas.proto.inference.ModelInferResponse;
import io.maas.proto.inference.ModelMetadataRequest;
import io.maas.proto.inference.ServerReadyRequest;
import io.maas.proto.registry.SetRoutingRequest;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/** The router in this JVM against a real registry and real inference services (see {@link Cluster}). */
@QuarkusTest
@QuarkusTestResource(value = Cluster.class, restrictToAnnotatedClass = true)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RouterTest {

    @Inject
    io.maas.router.api.DataPlaneServer dataPlane;

    static final Metadata.Key<String> VERSION_OUT = Metadata.Key.of("x-maas-model-version", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> TRACK_OUT = Metadata.Key.of("x-maas-track", Metadata.ASCII_STRING_MARSHALLER);

    @Inject
    RoutingTable table;
    @Inject
    ShadowMirror mirror;
    @Inject
    MeterRegistry meters;

    ManagedChannel router;
    ManagedChannel registry;

    @BeforeAll
    void connect() {
        router = Cluster.channel(dataPlane.port());
        registry = Cluster.channel(Cluster.REGISTRY_GRPC);
        Cluster.await("router routing table", () -> table.route("simple") != null);
    }

    @AfterAll
    void close() {
        router.shutdownNow();
        registry.shutdownNow();
    }

    static ModelInferRequest request(String version) {
        ModelInferRequest.Builder b = ModelInferRequest.newBuilder().setModelName("simple");
        if (version != null) {
            b.setModelVersion(version);
        }
        for (String name : List.of("INPUT0", "INPUT1")) {
            b.addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName(name).setDatatype("FP32")
                    .addShape(1).addShape(16));
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(64).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < 16; i++) {
                buf.putFloat(name.equals("INPUT0") ? i : 1f);
            }
            b.addRawInputContents(ByteString.copyFrom(buf.array()));
        }
        return b.build();
    }

    record Result(Status status, String version, String headerVersion, String track) {
    }

    /** One call with headers, blocking; returns status, response's model_version and the router's headers. */
    Result call(String version, Map<String, String> headers) {
        Metadata md = new Metadata();
        headers.forEach((k, v) -> md.put(Metadata.Key.of(k, Metadata.ASCII_STRING_MARSHALLER), v));
        AtomicReference<Metadata> h = new AtomicReference<>();
        AtomicReference<Metadata> t = new AtomicReference<>();
        var stub = GRPCInferenceServiceGrpc.newBlockingStub(router).withDeadlineAfter(30, TimeUnit.SECONDS)
                .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md),
                        MetadataUtils.newCaptureMetadataInterceptor(h, t));
        try {
            ModelInferResponse r = stub.modelInfer(request(version));
            return new Result(Status.OK, r.getModelVersion(), h.get().get(VERSION_OUT), h.get().get(TRACK_OUT));
        } catch (io.grpc.StatusRuntimeException e) {
            return new Result(e.getStatus(), null, null, null);
        }
    }

    /** {@code n} calls, {@code concurrency} at a time; counts by response model_version, failures under "error:CODE". */
    Map<String, Integer> load(int n, int concurrency, Map<String, String> headers, Runnable atHalf) throws InterruptedException {
        Metadata md = new Metadata();
        headers.forEach((k, v) -> md.put(Metadata.Key.of(k, Metadata.ASCII_STRING_MARSHALLER), v));
        var stub = GRPCInferenceServiceGrpc.newStub(router).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
        Map<String, Integer> counts = new ConcurrentHashMap<>();
        Semaphore slots = new Semaphore(concurrency);
        CountDownLatch done = new CountDownLatch(n);
        AtomicInteger finished = new AtomicInteger();
        ModelInferRequest req = request(null);
        for (int i = 0; i < n; i++) {
            slots.acquire();
            if (i == n / 4 && atHalf != null) {
                atHalf.run();
            }
            stub.withDeadlineAfter(30, TimeUnit.SECONDS).modelInfer(req, new StreamObserver<ModelInferResponse>() {
                @Override
                public void onNext(ModelInferResponse r) {
                    counts.merge(r.getModelVersion(), 1, Integer::sum);
                }

                @Override
                public void onError(Throwable e) {
                    counts.merge("error:" + Status.fromThrowable(e).getCode(), 1, Integer::sum);
                    System.out.println("call failed: " + Status.fromThrowable(e));
                    end();
                }

                @Override
                public void onCompleted() {
                    end();
                }

                private void end() {
                    finished.incrementAndGet();
                    slots.release();
                    done.countDown();
                }
            });
        }
        assertTrue(done.await(180, TimeUnit.SECONDS), "calls did not finish");
        return counts;
    }

    @Test
    @Order(1)
    void servesHealthAndRouterReadiness() {
        var stub = GRPCInferenceServiceGrpc.newBlockingStub(router).withDeadlineAfter(10, TimeUnit.SECONDS);
        assertTrue(stub.serverReady(ServerReadyRequest.getDefaultInstance()).getReady());
        var md = stub.modelMetadata(ModelMetadataRequest.newBuilder().setName("simple").setVersion("2").build());
        assertEquals("simple", md.getName());
        assertEquals(2, md.getInputsCount());
    }

    @Test
    @Order(2)
    void weightedSplitHonoursTheWeight() throws InterruptedException {
        int n = 2400;
        Map<String, Integer> counts = load(n, 16, Map.of(), null);
        System.out.println("split at canary weight 30 over " + n + " calls: " + counts);
        assertEquals(n, counts.getOrDefault("1", 0) + counts.getOrDefault("2", 0), counts::toString);
        double p = counts.getOrDefault("2", 0) / (double) n;
        // binomial sd at p=0.3, n=2400 is 0.0094; 0.045 is 4.8 sd: a false failure about once in a million runs
        assertTrue(Math.abs(p - 0.30) < 0.045, "canary share " + p);
    }

    @Test
    @Order(3)
    void pinsAndStickyKeysHold() {
        Result explicit = call("2", Map.of());
        assertEquals(Status.Code.OK, explicit.status().getCode(), explicit::toString);
        assertEquals("2", explicit.version());
        assertEquals("2", explicit.headerVersion());
        assertEquals("canary", explicit.track());
        for (int i = 0; i < 20; i++) {
            assertEquals("1", call(null, Map.of("x-model-version", "1")).version());
            assertEquals("2", call(null, Map.of("x-model-version", "2")).version());
            assertEquals("2", call(null, Map.of("x-maas-canary", "always")).version());
            Result never = call(null, Map.of("x-maas-canary", "never"));
            assertEquals("1", never.version());
            assertEquals("stable", never.track());
            // the explicit version wins over the pin header
            assertEquals("1", call("1", Map.of("x-model-version", "2")).version());
        }
        int canary = 0;
        for (int k = 0; k < 150; k++) {
            String key = "user-" + k;
            String first = call(null, Map.of("x-routing-key", key)).version();
            for (int r = 0; r < 3; r++) {
                assertEquals(first, call(null, Map.of("x-routing-key", key)).version(), "key " + key);
            }
            if (first.equals("2")) {
                canary++;
            }
        }
        System.out.println("sticky keys on the canary at weight 30: " + canary + "/150");
        assertTrue(canary > 20 && canary < 70, "keys on canary: " + canary);
    }

    @Test
    @Order(4)
    void killingAnInstanceUnderLoadLosesAlmostNothing() throws InterruptedException {
        int n = 3000;
        Map<String, Integer> counts = load(n, 16, Map.of("x-maas-canary", "never"), () -> {
            System.out.println("killing inference instance B (" + Cluster.INFERENCE_GRPC[1] + ")");
            Cluster.inference[1].destroyForcibly();
        });
        System.out.println("calls with instance B killed at the first quarter: " + counts);
        int failed = n - counts.getOrDefault("1", 0);
        assertTrue(failed < n * 0.001, "failed calls: " + failed + " " + counts);
    }

    /** {@link #request}'s inputs as the REST twin's JSON body. */
    static String jsonRequest() {
        StringBuilder data0 = new StringBuilder();
        StringBuilder data1 = new StringBuilder();
        for (int i = 0; i < 16; i++) {
            data0.append(i == 0 ? "" : ",").append(i).append(".0");
            data1.append(i == 0 ? "" : ",").append("1.0");
        }
        return "{\"inputs\":[{\"name\":\"INPUT0\",\"datatype\":\"FP32\",\"shape\":[1,16],\"data\":[" + data0
                + "]},{\"name\":\"INPUT1\",\"datatype\":\"FP32\",\"shape\":[1,16],\"data\":[" + data1 + "]}]}";
    }

    /** One REST/JSON call through the router's HTTP port; returns status, body and the routing headers. */
    static HttpResponse<String> rest(String path, Map<String, String> headers) throws Exception {
        String body = jsonRequest();
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + io.restassured.RestAssured.port + path))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        headers.forEach(b::header);
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static final HttpClient HTTP = HttpClient.newHttpClient();

    @Test
    @Order(5)
    void restTwinChoosesVersionsAndGetsPastADeadPod() throws Exception {
        var explicit = rest("/v2/models/simple/versions/2/infer", Map.of());
        assertEquals(200, explicit.statusCode(), explicit.body());
        assertEquals("2", explicit.headers().firstValue("x-maas-model-version").orElse(null));
        assertEquals("canary", explicit.headers().firstValue("x-maas-track").orElse(null));
        assertTrue(explicit.body().contains("\"OUTPUT0\""), explicit.body());
        assertEquals("1", rest("/v2/models/simple/infer", Map.of("x-model-version", "1")).headers()
                .firstValue("x-maas-model-version").orElse(null));
        // a client that asks before sending its body (curl does for bodies over 1 MB) is told to go on
        HttpRequest asking = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + io.restassured.RestAssured.port
                        + "/v2/models/simple/versions/1/infer")).expectContinue(true).timeout(java.time.Duration.ofSeconds(60))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(jsonRequest())).build();
        var continued = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()
                .send(asking, HttpResponse.BodyHandlers.ofString());
        assertEquals(200, continued.statusCode(), continued.body());
        var unknown = rest("/v2/models/no-such-model/infer", Map.of());
        assertEquals(404, unknown.statusCode());
        assertTrue(unknown.body().contains("error"), unknown.body());
        // Instance B was killed above: calls to stable land on A, or are retried there when B's port refuses them.
        for (int i = 0; i < 200; i++) {
            var r = rest("/v2/models/simple/infer", Map.of("x-maas-canary", "never"));
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("1", r.headers().firstValue("x-maas-model-version").orElse(null));
        }
    }

    @Test
    @Order(6)
    void weightChangeReachesTheRouterAndRouterSurvivesRegistryOutage() throws Exception {
        long before = table.route("simple").revision();
        long start = System.nanoTime();
        Cluster.registryStub(registry).setRouting(SetRoutingRequest.newBuilder().setModel("simple").setStableVersion("1")
                .setCanaryVersion("2").setCanaryWeight(50).setReason("router test: weight change").build());
        long written = System.nanoTime();
        Cluster.await("weight 50 in the router", () -> table.route("simple").canaryWeight() == 50);
        long seen = System.nanoTime();
        System.out.printf("weight change: SetRouting returned after %.1f ms, router applied it %.1f ms after the write returned (%.1f ms after it was sent)%n",
                (written - start) / 1e6, (seen - written) / 1e6, (seen - start) / 1e6);
        assertTrue(table.route("simple").revision() > before);

        Cluster.stop(Cluster.registry);
        Map<String, Integer> counts = load(300, 8, Map.of(), null);
        System.out.println("with the registry stopped: " + counts);
        assertEquals(300, counts.getOrDefault("1", 0) + counts.getOrDefault("2", 0), counts::toString);
        assertEquals(50, table.route("simple").canaryWeight());

        Cluster.startRegistry();
        Cluster.awaitRegistry();
        Cluster.registryStub(registry).setRouting(SetRoutingRequest.newBuilder().setModel("simple").setStableVersion("1")
                .setCanaryVersion("2").setCanaryWeight(20).setReason("router test: after registry restart").build());
        Cluster.await("router resumes the watch after the registry restarts",
                () -> table.route("simple").canaryWeight() == 20);
    }

    @Test
    @Order(7)
    void failingCanaryIsAbortedThroughTheRegistry() throws InterruptedException {
        var set = Cluster.registryStub(registry).setRouting(SetRoutingRequest.newBuilder().setModel("simple")
                .setStableVersion("1").setCanaryVersion("3").setCanaryWeight(50)
                .setReason("router test: canary 3 is in no inference repository, so it fails").build());
        Cluster.await("canary 3 in the router", () -> "3".equals(table.route("simple").canary())
                && table.route("simple").canaryWeight() == 50);
        AtomicInteger errors = new AtomicInteger();
        // the abort is a registry write: the router sees it come back through its watch stream
        Cluster.await("automatic abort written to the registry", () -> {
            for (int i = 0; i < 10; i++) {
                if (call(null, Map.of()).status().getCode() != Status.Code.OK) {
                    errors.incrementAndGet();
                }
            }
            Route r = table.routes().get("simple");
            return r.revision() > set.getRevision() && r.canaryWeight() == 0;
        });
        Route entry = table.routes().get("simple");
        System.out.println("aborted: " + entry + " after " + errors + " failed calls");
        assertTrue(entry.reason().contains("auto-abort"), entry.reason());
        assertEquals(0, errors.get(), "the canary's failures were answered by stable (fallback), yet judged");
        assertEquals("3", entry.canary());
        for (int i = 0; i < 50; i++) {
            Result r = call(null, Map.of());
            assertEquals(Status.Code.OK, r.status().getCode(), r::toString);
            assertEquals("1", r.version());
        }
    }

    @Test
    @Order(8)
    void metricsGrpcHealthAndReflection() throws InterruptedException {
        String metrics = io.restassured.RestAssured.given().get("/metrics").then().statusCode(200)
                .extract().asString();
        for (String needle : List.of("maas_router_requests_total{", "model=\"simple\"", "track=\"canary\"",
                "maas_router_request_duration_seconds_bucket{", "maas_router_retries_total{",
                "maas_router_ejections_total{", "maas_router_canary_aborts_total{")) {
            assertTrue(metrics.contains(needle), "metrics lack " + needle);
        }
        var health = io.grpc.health.v1.HealthGrpc.newBlockingStub(router).withDeadlineAfter(10, TimeUnit.SECONDS)
                .check(io.grpc.health.v1.HealthCheckRequest.getDefaultInstance());
        assertEquals(io.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING, health.getStatus());
        // Server reflection describes the forwarded service, so grpcurl (and helm test) need no .proto files.
        var replies = new java.util.concurrent.LinkedBlockingQueue<io.grpc.reflection.v1.ServerReflectionResponse>();
        var requests = io.grpc.reflection.v1.ServerReflectionGrpc.newStub(router).serverReflectionInfo(
                new io.grpc.stub.StreamObserver<>() {
                    @Override
                    public void onNext(io.grpc.reflection.v1.ServerReflectionResponse r) {
                        replies.add(r);
                    }

                    @Override
                    public void onError(Throwable t) {
                    }

                    @Override
                    public void onCompleted() {
                    }
                });
        requests.onNext(io.grpc.reflection.v1.ServerReflectionRequest.newBuilder().setListServices("").build());
        requests.onNext(io.grpc.reflection.v1.ServerReflectionRequest.newBuilder()
                .setFileContainingSymbol("inference.GRPCInferenceService.ModelInfer").build());
        var services = replies.poll(10, TimeUnit.SECONDS);
        var file = replies.poll(10, TimeUnit.SECONDS);
        requests.onCompleted();
        assertTrue(services.getListServicesResponse().getServiceList().stream()
                .anyMatch(x -> x.getName().equals("inference.GRPCInferenceService")), services.toString());
        assertTrue(file.getFileDescriptorResponse().getFileDescriptorProtoCount() > 0, file.toString());
        io.restassured.RestAssured.given().get("/q/health/ready").then().statusCode(200);
    }

    double shadows(String shadowVersion, String result) {
        var c = meters.find("maas.router.shadow.requests").tags("model", "simple", "version", "1",
                "shadow_version", shadowVersion, "result", result).counter();
        return c == null ? 0 : c.count();
    }

    double primaryCalls(String version) {
        return meters.find("maas.router.requests").tags("model", "simple", "version", version).counters().stream()
                .mapToDouble(io.micrometer.core.instrument.Counter::count).sum();
    }

    @Test
    @Order(9)
    void shadowTrafficIsComparedAndNeverReachesTheCaller() throws InterruptedException {
        // the table now has stable 1, canary 3 held at weight 0: every call is answered by version 1
        try {
            double v2Before = primaryCalls("2");
            // a cap above the calls sent: comparing every call must not depend on how fast shadows
            // finish on a loaded machine (dropping over the cap is checked below with a cap of 0)
            int n = 200;
            mirror.configure(ShadowRules.parse("simple:2=1.0"), n);
            Map<String, Integer> counts = load(n, 8, Map.of(), null);
            assertEquals(Map.of("1", n), counts, "callers get the primary's answers only");
            try {
                Cluster.await("shadow comparisons", () -> shadows("2", "compared") == n && mirror.inFlight() == 0);
            } finally {
                meters.find("maas.router.shadow.requests").counters().forEach(
                        c -> System.out.println("shadow outcome " + c.getId().getTags() + " " + c.count()));
                System.out.println("shadows in flight: " + mirror.inFlight());
            }
            for (String output : List.of("OUTPUT0", "OUTPUT1")) {
                var cos = meters.find("maas.router.shadow.cosine.similarity").tags("version", "1", "shadow_version", "2",
                        "output", output).summary();
                var diff = meters.find("maas.router.shadow.max.abs.diff").tags("version", "1", "shadow_version", "2",
                        "output", output).summary();
                System.out.printf("shadow simple 1 vs 2, %s: %d compared, cosine mean %.9f, max abs diff max %.3g%n", output,
                        cos.count(), cos.mean(), diff.max());
                assertEquals(n, cos.count());
                assertTrue(cos.mean() > 0.9999, "cosine " + cos.mean());
                assertTrue(diff.max() < 1e-4, "max abs diff " + diff.max());
            }
            assertEquals(0, shadows("2", "shadow_failed") + shadows("2", "dropped") + shadows("2", "mismatched_shape"));
            assertEquals(v2Before, primaryCalls("2"), "shadow calls are not counted as calls to version 2");
            var latency = meters.find("maas.router.shadow.duration").tags("shadow_version", "2").timer();
            assertEquals(n, latency.count());

            // a shadow version without endpoints, and the canary (3: absent from the pods, so NOT_FOUND)
            mirror.configure(ShadowRules.parse("simple:9=1.0"), 64);
            assertEquals(Map.of("1", 50), load(50, 8, Map.of(), null));
            Cluster.await("shadow failures without endpoints", () -> shadows("9", "shadow_failed") == 50);
            mirror.configure(ShadowRules.parse("simple:canary=1.0"), 64);
            assertEquals(Map.of("1", 50), load(50, 8, Map.of(), null));
            Cluster.await("failing shadow on the canary", () -> shadows("3", "shadow_failed") == 50);
            // over the in-flight limit: dropped, the callers unaffected
            mirror.configure(ShadowRules.parse("simple:2=1.0"), 0);
            assertEquals(Map.of("1", 50), load(50, 8, Map.of(), null));
            assertEquals(50, shadows("2", "dropped"));
            Cluster.await("no shadow left in flight", () -> mirror.inFlight() == 0);
            assertEquals(n, shadows("2", "compared"));

            String metrics = io.restassured.RestAssured.given().get("/metrics").then().statusCode(200)
                    .extract().asString();
            for (String needle : List.of("maas_router_shadow_requests_total{", "maas_router_shadow_max_abs_diff_count{",
                    "maas_router_shadow_cosine_similarity_bucket{", "maas_router_shadow_duration_seconds_bucket{")) {
                assertTrue(metrics.contains(needle), "metrics lack " + needle);
            }
        } finally {
            mirror.configure(ShadowRules.NONE, 64);
        }
    }

    /** What the frame-level front door must handle like grpc-java did: compressed requests, unknown methods. */
    @Test
    @Order(10)
    void compressedRequestsAndUnknownMethods() {
        var stub = GRPCInferenceServiceGrpc.newBlockingStub(router).withDeadlineAfter(30, TimeUnit.SECONDS);
        ModelInferResponse gzip = stub.withCompression("gzip").modelInfer(request("1"));
        assertEquals("1", gzip.getModelVersion());
        assertEquals(stub.modelInfer(request("1")).getRawOutputContentsList(), gzip.getRawOutputContentsList(),
                "a gzip request gets the same answer as a plain one");
        MethodDescriptor<byte[], byte[]> unknown = MethodDescriptor.<byte[], byte[]> newBuilder()
                .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName("inference.GRPCInferenceService/NoSuchMethod")
                .setRequestMarshaller(io.maas.router.adapters.Bytes.MARSHALLER)
                .setResponseMarshaller(io.maas.router.adapters.Bytes.MARSHALLER).build();
        var e = org.junit.jupiter.api.Assertions.assertThrows(io.grpc.StatusRuntimeException.class,
                () -> io.grpc.stub.ClientCalls.blockingUnaryCall(router, unknown,
                        io.grpc.CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), new byte[0]));
        assertEquals(Status.Code.UNIMPLEMENTED, e.getStatus().getCode(), e.getStatus().toString());
    }
}
