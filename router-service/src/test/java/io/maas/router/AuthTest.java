package io.maas.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.maas.auth.ApiKeys;
import io.maas.proto.inference.GRPCInferenceServiceGrpc;
import io.maas.proto.inference.ModelMetadataRequest;
import io.maas.proto.inference.RepositoryIndexRequest;
import io.maas.proto.inference.RepositoryModelLoadRequest;
import io.maas.router.api.DataPlaneServer;
import io.maas.testsupport.FreePorts;
import io.maas.testsupport.JwtIssuer;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The router's front door over real sockets, with a real inference pod behind it: API keys from a
 * hashed keys file (revoked by rewriting it, no restart), JWTs signed by a test issuer and checked
 * against its JWKS, the tenant policy (models, tracks, admin-only repository calls, filtered model
 * list) and quotas, for gRPC and REST alike.
 */
@QuarkusTest
@QuarkusTestResource(value = AuthTest.Pod.class, restrictToAnnotatedClass = true)
class AuthTest {
    static final String ISSUER = "https://issuer.maas.test";
    static final JwtIssuer JWT = JwtIssuer.rsa("test-key");

    public static class Pod implements QuarkusTestResourceLifecycleManager {
        static final Path WORK = Cluster.ROOT.resolve("router-service/target/it-auth");
        static final int GRPC = FreePorts.take();
        static final int HTTP = FreePorts.take();
        static Process pod;

        @Override
        public Map<String, String> start() {
            try {
                Cluster.deleteTree(WORK);
                Files.createDirectories(WORK.resolve("repo"));
                for (String m : List.of("minilm", "simple")) {
                    Files.createSymbolicLink(WORK.resolve("repo/" + m), Cluster.ROOT.resolve("models/target/repository/" + m));
                }
                Files.writeString(WORK.resolve("keys"), keys("search", "ops", "noisy", "quiet"));
                Files.writeString(WORK.resolve("policy.yaml"), """
                        tenants:
                          search: {models: [minilm]}
                          ops: {admin: true}
                          noisy:
                            models: [simple]
                            quota: {requestsPerSecond: 20, burst: 5}
                          quiet: {models: [simple]}
                          "system:serviceaccount:apps:web": {models: ["*"]}
                        """);
                JWT.writeJwks(WORK.resolve("jwks.json"));
                pod = Cluster.java(Cluster.ROOT.resolve("inference-service/target/quarkus-app/quarkus-run.jar"),
                        List.of("--model-repository", WORK.resolve("repo").toString()),
                        Map.of("MAAS_GRPC_PORT", "" + GRPC, "MAAS_HTTP_PORT", "" + HTTP, "MAAS_ONNX_INTRA_OP_THREADS", "1",
                                "ORT_DISABLE_TELEMETRY", "1"),
                        WORK.resolve("pod.log"));
                Cluster.awaitInference(GRPC);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            String at = "127.0.0.1:" + GRPC + "/" + HTTP;
            return Map.ofEntries(Map.entry("maas.endpoints.source", "static"),
                    Map.entry("maas.static-endpoints", "minilm:1=" + at + ";simple:1=" + at),
                    Map.entry("maas.auth.enabled", "true"),
                    Map.entry("maas.auth.api-keys-file", WORK.resolve("keys").toString()),
                    Map.entry("maas.auth.policy-file", WORK.resolve("policy.yaml").toString()),
                    Map.entry("maas.auth.reload-interval-ms", "200"),
                    Map.entry("maas.auth.jwt.issuer", ISSUER),
                    Map.entry("maas.auth.jwt.audience", "maas"),
                    Map.entry("maas.auth.jwt.jwks", WORK.resolve("jwks.json").toString()));
        }

        @Override
        public void stop() {
            Cluster.stop(pod);
        }
    }

    static String key(String tenant) {
        return "test-key-of-" + tenant;
    }

    static String keys(String... tenants) {
        StringBuilder b = new StringBuilder("# tenant:sha256:<hex>\n");
        for (String t : tenants) {
            b.append(t).append(":sha256:").append(ApiKeys.hash(key(t))).append('\n');
        }
        return b.toString();
    }

    @Inject
    DataPlaneServer dataPlane;
    @TestHTTPResource("/")
    URL http;

    static ManagedChannel channel;
    static final HttpClient REST = HttpClient.newHttpClient();

    @AfterAll
    static void close() {
        if (channel != null) {
            channel.shutdownNow();
        }
    }

    GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub stub(String header, String value) {
        if (channel == null) {
            channel = Cluster.channel(dataPlane.port());
        }
        var stub = GRPCInferenceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
        if (header == null) {
            return stub;
        }
        Metadata md = new Metadata();
        md.put(Metadata.Key.of(header, Metadata.ASCII_STRING_MARSHALLER), value);
        return stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
    }

    static StatusRuntimeException refused(Runnable call) {
        return assertThrows(StatusRuntimeException.class, call::run);
    }

    HttpResponse<String> rest(String method, String path, String header, String value, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(http.toString()).resolve(path))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .header("content-type", "application/json");
        if (header != null) {
            b.header(header, value);
        }
        return REST.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static final String SIMPLE_JSON = "{\"inputs\":[{\"name\":\"INPUT0\",\"datatype\":\"FP32\",\"shape\":[1,16],\"data\":"
            + Arrays.toString(new float[16]) + "},{\"name\":\"INPUT1\",\"datatype\":\"FP32\",\"shape\":[1,16],\"data\":"
            + Arrays.toString(new float[16]) + "}]}";

    @Test
    void apiKeysAreAcceptedAndEveryOtherCallIsRefusedWithWhatToSend() throws Exception {
        var e = refused(() -> stub(null, null).modelInfer(FaultIsolationTest.simple("simple", "", 16)));
        assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("x-api-key") && e.getStatus().getDescription().contains("JWT"),
                e.getStatus().getDescription());
        assertEquals(Status.Code.UNAUTHENTICATED, refused(() -> stub("x-api-key", "not-a-key")
                .modelInfer(FaultIsolationTest.simple("simple", "", 16))).getStatus().getCode());
        assertEquals(2, stub("x-api-key", key("quiet")).modelInfer(FaultIsolationTest.simple("simple", "", 16))
                .getOutputsCount());
        assertEquals(1, stub("authorization", "Bearer " + key("search")).modelInfer(FaultIsolationTest.minilm(8, false, ""))
                .getOutputsCount());

        assertEquals(401, rest("POST", "v2/models/simple/infer", null, null, SIMPLE_JSON).statusCode());
        assertEquals(200, rest("POST", "v2/models/simple/infer", "x-api-key", key("quiet"), SIMPLE_JSON).statusCode());
        assertEquals(200, rest("POST", "v2/models/simple/infer", "authorization", "Bearer " + key("quiet"), SIMPLE_JSON).statusCode());
        // probes stay open
        assertEquals(200, rest("GET", "v2/health/live", null, null, null).statusCode());

        // refused at its headers, as gRPC is: a 10 MB body that never comes is not waited for nor counted
        try (Socket socket = new Socket("127.0.0.1", http.getPort())) {
            socket.setSoTimeout(20_000);
            socket.getOutputStream().write(("POST /v2/models/simple/infer HTTP/1.1\r\nHost: router\r\n"
                    + "Content-Type: application/json\r\nContent-Length: 10000000\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            var in = new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
            String status = in.readLine();
            int length = 0;
            for (String line = in.readLine(); line != null && !line.isEmpty(); line = in.readLine()) {
                if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
                    length = Integer.parseInt(line.substring(15).trim());
                }
            }
            char[] body = new char[length];
            for (int read = 0, n = 0; read < length && n >= 0; read += Math.max(n, 0)) {
                n = in.read(body, read, length - read);
            }
            assertTrue(status.startsWith("HTTP/1.1 401") && new String(body).contains("x-api-key"), status + " " + new String(body));
        }
        assertEquals(0, dataPlane.requestBudget().held());
    }

    @Test
    void jwtsAreCheckedForIssuerAudienceExpiryAndSignature() {
        String sa = "system:serviceaccount:apps:web";
        assertEquals(2, stub("authorization", "Bearer " + JWT.token(ISSUER, "maas", sa, 300))
                .modelInfer(FaultIsolationTest.simple("simple", "", 16)).getOutputsCount());
        for (String bad : List.of(JWT.token(ISSUER, "maas", sa, -120), JWT.token(ISSUER, "other-audience", sa, 300),
                JwtIssuer.rsa("test-key").token(ISSUER, "maas", sa, 300), JWT.token("https://elsewhere", "maas", sa, 300))) {
            var e = refused(() -> stub("authorization", "Bearer " + bad).modelInfer(FaultIsolationTest.simple("simple", "", 16)));
            assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode(), e.getStatus().getDescription());
        }
        // a verified token for a workload the policy does not name
        var e = refused(() -> stub("authorization", "Bearer " + JWT.token(ISSUER, "maas", "system:serviceaccount:apps:other", 300))
                .modelInfer(FaultIsolationTest.simple("simple", "", 16)));
        assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
    }

    @Test
    void aTenantSeesAndCallsOnlyWhatItIsGranted() throws Exception {
        var search = stub("x-api-key", key("search"));
        var e = refused(() -> search.modelInfer(FaultIsolationTest.simple("simple", "", 16)));
        assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("'simple'"), e.getStatus().getDescription());
        assertEquals(Status.Code.PERMISSION_DENIED, refused(() -> search.modelMetadata(
                ModelMetadataRequest.newBuilder().setName("simple").build())).getStatus().getCode());
        assertEquals("minilm", search.modelMetadata(ModelMetadataRequest.newBuilder().setName("minilm").build()).getName());
        assertEquals(List.of("minilm"), search.repositoryIndex(RepositoryIndexRequest.getDefaultInstance()).getModelsList()
                .stream().map(m -> m.getName()).distinct().toList());
        assertEquals(List.of("minilm", "simple"), stub("x-api-key", key("ops")).repositoryIndex(RepositoryIndexRequest
                .getDefaultInstance()).getModelsList().stream().map(m -> m.getName()).distinct().sorted().toList());
        assertEquals(Status.Code.PERMISSION_DENIED, refused(() -> search.repositoryModelLoad(
                RepositoryModelLoadRequest.newBuilder().setModelName("minilm").build())).getStatus().getCode());
        assertEquals(Status.Code.UNIMPLEMENTED, refused(() -> stub("x-api-key", key("ops")).repositoryModelLoad(
                RepositoryModelLoadRequest.newBuilder().setModelName("minilm").build())).getStatus().getCode());

        assertEquals(403, rest("POST", "v2/models/simple/infer", "x-api-key", key("search"), SIMPLE_JSON).statusCode());
        assertEquals(403, rest("GET", "v2/models/simple", "x-api-key", key("search"), null).statusCode());
        String index = rest("POST", "v2/repository/index", "x-api-key", key("search"), "{}").body();
        assertTrue(index.contains("\"minilm\"") && !index.contains("simple"), index);
        assertEquals(403, rest("POST", "v2/repository/models/minilm/load", "x-api-key", key("search"), "{}").statusCode());
    }

    @Test
    void aKeyRemovedFromTheFileStopsWorkingWithoutARestart() throws Exception {
        Path keys = Pod.WORK.resolve("keys");
        Files.writeString(keys, keys("search", "ops", "noisy", "quiet", "leaver"));
        Cluster.await("the new key is accepted", () -> {
            try {
                stub("x-api-key", key("leaver")).repositoryIndex(RepositoryIndexRequest.getDefaultInstance());
                return true;
            } catch (StatusRuntimeException e) {
                return false;
            }
        });
        Files.writeString(keys, keys("search", "ops", "noisy", "quiet"));
        Cluster.await("the removed key is refused", () -> {
            try {
                stub("x-api-key", key("leaver")).repositoryIndex(RepositoryIndexRequest.getDefaultInstance());
                return false;
            } catch (StatusRuntimeException e) {
                return e.getStatus().getCode() == Status.Code.UNAUTHENTICATED;
            }
        });
        Files.writeString(keys, "this line is not a key entry\n");
        Thread.sleep(600); // a few reload intervals: the broken rewrite must not lock anyone out
        assertEquals(2, stub("x-api-key", key("quiet")).modelInfer(FaultIsolationTest.simple("simple", "", 16)).getOutputsCount());
        Files.writeString(keys, keys("search", "ops", "noisy", "quiet"));
    }

    /**
     * A noisy tenant sends at about 10x its quota of 20 calls per second while a quiet one calls the
     * same model: the noisy one is throttled with a retry hint, the quiet one keeps succeeding. The
     * quiet tenant's p99 alone and beside the noisy one is printed (timings are not asserted on this
     * shared machine).
     */
    @Test
    void aNoisyTenantIsThrottledWhileAQuietOneKeepsSucceeding() throws Exception {
        var quiet = stub("x-api-key", key("quiet"));
        latencies(quiet, 100); // warm-up
        long[] alone = latencies(quiet, 200);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger noisyOk = new AtomicInteger();
        AtomicInteger throttled = new AtomicInteger();
        AtomicInteger pushback = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        List<Future<?>> noisy = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            noisy.add(pool.submit(() -> {
                var stub = stub("x-api-key", key("noisy"));
                for (int i = 0; i < 2000 && !stop.get(); i++) { // 2 threads x 100/s: 10x the quota
                    try {
                        stub.modelInfer(FaultIsolationTest.simple("simple", "", 16));
                        noisyOk.incrementAndGet();
                    } catch (StatusRuntimeException e) {
                        if (e.getStatus().getCode() == Status.Code.RESOURCE_EXHAUSTED) {
                            throttled.incrementAndGet();
                            if (e.getTrailers() != null && e.getTrailers().get(Metadata.Key.of("grpc-retry-pushback-ms",
                                    Metadata.ASCII_STRING_MARSHALLER)) != null) {
                                pushback.incrementAndGet();
                            }
                        }
                    }
                    try {
                        Thread.sleep(10);
                    } catch (InterruptedException ie) {
                        return;
                    }
                }
            }));
        }
        long[] beside = latencies(quiet, 400);
        stop.set(true);
        for (Future<?> f : noisy) {
            f.get(60, TimeUnit.SECONDS);
        }
        pool.shutdownNow();
        // REST: 20 calls at once against a bucket of 5
        List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> burst = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            burst.add(REST.sendAsync(HttpRequest.newBuilder(URI.create(http.toString()).resolve("v2/models/simple/infer"))
                    .POST(HttpRequest.BodyPublishers.ofString(SIMPLE_JSON)).header("content-type", "application/json")
                    .header("x-api-key", key("noisy")).build(), HttpResponse.BodyHandlers.ofString()));
        }
        HttpResponse<String> r = null;
        for (var f : burst) {
            HttpResponse<String> one = f.get(60, TimeUnit.SECONDS);
            if (one.statusCode() == 429) {
                r = one;
            }
        }
        assertTrue(r != null, "a burst of 20 REST calls over a bucket of 5 is throttled");
        System.out.printf("quotas: quiet p99 alone %.2f ms, beside a noisy tenant %.2f ms (ratio %.2f); noisy: %d ok, %d throttled%n",
                p99(alone) / 1e6, p99(beside) / 1e6, (double) p99(beside) / p99(alone), noisyOk.get(), throttled.get());
        assertTrue(throttled.get() > 0, "the noisy tenant was throttled");
        assertEquals(throttled.get(), pushback.get(), "every throttled call carries grpc-retry-pushback-ms");
        assertEquals(429, r.statusCode());
        assertTrue(r.headers().firstValue("retry-after").isPresent(), r.headers().toString());
        assertFalse(beside.length == 0);
    }

    /** Latencies of {@code n} sequential calls, every one of which must succeed (latencies() throws otherwise). */
    static long[] latencies(GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub stub, int n) {
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            stub.modelInfer(FaultIsolationTest.simple("simple", "", 16));
            out[i] = System.nanoTime() - t0;
        }
        return out;
    }

    static long p99(long[] nanos) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        return s[(int) Math.ceil(s.length * 0.99) - 1];
    }
}
