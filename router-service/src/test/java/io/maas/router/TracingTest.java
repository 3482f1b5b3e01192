package io.maas.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import jakarta.enterprise.inject.Produces;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import com.sun.net.httpserver.HttpServer;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.maas.proto.inference.GRPCInferenceServiceGrpc;
import io.maas.proto.inference.ModelInferRequest;
import io.maas.proto.inference.ModelInferResponse;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * Router spans with tracing on. The pod here is a recording gRPC and HTTP server in this JVM
 * (what matters is which trace headers reach it), spans go to an in-memory exporter.
 */
@QuarkusTest
@TestProfile(TracingTest.Profile.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TracingTest {

    @Inject
    io.maas.router.api.DataPlaneServer dataPlane;
    static final int POD_GRPC = io.maas.testsupport.FreePorts.take();
    static final int POD_HTTP = io.maas.testsupport.FreePorts.take();
    static final String CALLER_SPAN = "00f067aa0ba902b7";
    static final Metadata.Key<String> TRACEPARENT = Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> FAIL = Metadata.Key.of("x-test-fail", Metadata.ASCII_STRING_MARSHALLER);

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("quarkus.otel.sdk.disabled", "false",
                    "quarkus.otel.exporter.otlp.enabled", "false",
                    "quarkus.otel.bsp.schedule.delay", "0.05s",
                    "maas.static-endpoints", "probe:1=127.0.0.1:" + POD_GRPC + "/" + POD_HTTP);
        }
    }

    /** The exporter Quarkus' SDK sends finished spans to in this test. */
    public static class Exporter {
        @Produces
        @Singleton
        InMemorySpanExporter exporter() {
            return InMemorySpanExporter.create();
        }
    }

    @Inject
    InMemorySpanExporter spans;

    final ConcurrentLinkedQueue<String> podTraceparents = new ConcurrentLinkedQueue<>();
    Server pod;
    HttpServer podHttp;
    ManagedChannel router;

    @BeforeAll
    void start() throws IOException {
        ServerInterceptor record = new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                    ServerCallHandler<Q, R> next) {
                String tp = headers.get(TRACEPARENT);
                podTraceparents.add(tp == null ? "none" : tp);
                if (headers.get(FAIL) != null) {
                    call.close(Status.UNAVAILABLE.withDescription("pod told to fail"), new Metadata());
                    return new ServerCall.Listener<>() {
                    };
                }
                return next.startCall(call, headers);
            }
        };
        pod = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", POD_GRPC))
                .addService(ServerInterceptors.intercept(new GRPCInferenceServiceGrpc.GRPCInferenceServiceImplBase() {
                    @Override
                    public void modelInfer(ModelInferRequest request, StreamObserver<ModelInferResponse> out) {
                        out.onNext(ModelInferResponse.newBuilder().setModelName(request.getModelName())
                                .setModelVersion(request.getModelVersion()).build());
                        out.onCompleted();
                    }
                }, record)).build().start();
        podHttp = HttpServer.create(new InetSocketAddress("127.0.0.1", POD_HTTP), 0);
        podHttp.createContext("/v2/models/probe/versions/1/infer", exchange -> {
            String tp = exchange.getRequestHeaders().getFirst("traceparent");
            podTraceparents.add(tp == null ? "none" : tp);
            byte[] body = "{\"model_name\":\"probe\",\"model_version\":\"1\",\"outputs\":[]}".getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        podHttp.start();
        router = Cluster.channel(dataPlane.port());
        // the router's channels to the pod were created before the pod listened: wait for them to connect
        Cluster.await("router reaching the recording pod", () -> infer("probe", Map.of()) == null);
    }

    @AfterAll
    void stop() {
        router.shutdownNow();
        pod.shutdownNow();
        podHttp.stop(0);
    }

    @BeforeEach
    void reset() {
        spans.reset();
        podTraceparents.clear();
    }

    StatusRuntimeException infer(String model, Map<String, String> headers) {
        Metadata md = new Metadata();
        headers.forEach((k, v) -> md.put(Metadata.Key.of(k, Metadata.ASCII_STRING_MARSHALLER), v));
        try {
            GRPCInferenceServiceGrpc.newBlockingStub(router).withDeadlineAfter(20, TimeUnit.SECONDS)
                    .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md))
                    .modelInfer(ModelInferRequest.newBuilder().setModelName(model).build());
            return null;
        } catch (StatusRuntimeException e) {
            return e;
        }
    }

    /** A fresh trace id per test: spans of an earlier test may still be arriving (batched export). */
    static String newTraceId() {
        return String.format("%016x%016x", System.nanoTime(), java.util.concurrent.ThreadLocalRandom.current().nextLong());
    }

    static String caller(String traceId) {
        return "00-" + traceId + "-" + CALLER_SPAN + "-01";
    }

    /** The finished spans of one trace once {@code n} have arrived (the batch processor exports within ~50 ms). */
    List<SpanData> finished(String traceId, int n) {
        Cluster.await(n + " exported spans", () -> of(traceId).size() >= n);
        return of(traceId);
    }

    List<SpanData> of(String traceId) {
        return spans.getFinishedSpanItems().stream().filter(s -> s.getTraceId().equals(traceId)).toList();
    }

    static SpanData only(List<SpanData> all, SpanKind kind) {
        List<SpanData> of = all.stream().filter(s -> s.getKind() == kind).toList();
        assertEquals(1, of.size(), kind + " spans: " + all);
        return of.get(0);
    }

    @Test
    void callerTraceContinuesThroughRouterToPod() {
        String traceId = newTraceId();
        assertEquals(null, infer("probe", Map.of("traceparent", caller(traceId))));
        List<SpanData> all = finished(traceId, 2);
        SpanData server = only(all, SpanKind.SERVER);
        SpanData client = only(all, SpanKind.CLIENT);

        assertEquals(traceId, server.getTraceId());
        assertEquals(CALLER_SPAN, server.getParentSpanId(), "router span is a child of the caller's span");
        assertEquals("inference.GRPCInferenceService/ModelInfer", server.getName());
        assertEquals("probe", server.getAttributes().get(AttributeKey.stringKey("maas.model")));
        assertEquals("1", server.getAttributes().get(AttributeKey.stringKey("maas.model.version")));
        assertEquals(0L, server.getAttributes().get(AttributeKey.longKey("rpc.grpc.status_code")));

        assertEquals(traceId, client.getTraceId());
        assertEquals(server.getSpanId(), client.getParentSpanId());
        assertEquals((long) POD_GRPC, client.getAttributes().get(AttributeKey.longKey("server.port")));

        // the pod sees the router's attempt span as its parent, not the caller's span
        assertEquals(List.of("00-" + traceId + "-" + client.getSpanId() + "-01"), List.copyOf(podTraceparents));
    }

    @Test
    void callWithoutTraceparentStartsATrace() {
        assertEquals(null, infer("probe", Map.of()));
        String tp = podTraceparents.peek();
        assertNotNull(tp);
        SpanData server = only(finished(tp.split("-")[1], 2), SpanKind.SERVER);
        assertFalse(server.getParentSpanContext().isValid(), "a root span");
    }

    @Test
    void failedAttemptAndCallAreErrorSpans() {
        String traceId = newTraceId();
        StatusRuntimeException e = infer("probe", Map.of("traceparent", caller(traceId), "x-test-fail", "1"));
        assertNotNull(e);
        assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
        List<SpanData> all = finished(traceId, 2);
        SpanData server = only(all, SpanKind.SERVER);
        SpanData client = only(all, SpanKind.CLIENT);
        assertEquals(StatusCode.ERROR, client.getStatus().getStatusCode());
        assertEquals(StatusCode.ERROR, server.getStatus().getStatusCode());
        assertEquals(14L, server.getAttributes().get(AttributeKey.longKey("rpc.grpc.status_code")));
    }

    @Test
    void callerErrorIsRecordedButNotAServerFault() {
        String traceId = newTraceId();
        StatusRuntimeException e = infer("no-such-model", Map.of("traceparent", caller(traceId)));
        assertNotNull(e);
        assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
        SpanData server = only(finished(traceId, 1), SpanKind.SERVER);
        assertEquals(5L, server.getAttributes().get(AttributeKey.longKey("rpc.grpc.status_code")));
        assertNotEquals(StatusCode.ERROR, server.getStatus().getStatusCode());
        assertTrue(podTraceparents.isEmpty(), "nothing was forwarded");
    }

    @Test
    void restTwinHandsThePodItsClientSpan() throws Exception {
        String traceId = newTraceId();
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + io.restassured.RestAssured.port + "/v2/models/probe/infer"))
                .header("traceparent", caller(traceId)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"inputs\":[]}")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        List<SpanData> all = finished(traceId, 2);
        SpanData server = only(all, SpanKind.SERVER);
        SpanData client = only(all, SpanKind.CLIENT);
        assertEquals(CALLER_SPAN, server.getParentSpanId());
        assertEquals(server.getSpanId(), client.getParentSpanId());
        assertEquals(List.of("00-" + traceId + "-" + client.getSpanId() + "-01"), List.copyOf(podTraceparents));
    }
}
