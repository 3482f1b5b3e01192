package io.maas.inference.api;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;

import jakarta.enterprise.inject.Produces;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.google.common.util.concurrent.ListenableFuture;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.MetadataUtils;
import io.maas.inference.TestModels;
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
 * Pod spans with tracing on, over real gRPC and HTTP on the real test models: Quarkus' SERVER span
 * continues the caller's trace and holds this service's queue and compute spans. Spans go to an
 * in-memory exporter. (Tracing off is the default profile, which every other test runs with.)
 */
@QuarkusTest
@TestProfile(TracingTest.Profile.class)
class TracingTest extends GrpcTestSupport {
    static final String CALLER_SPAN = "00f067aa0ba902b7";
    static final AttributeKey<String> MODEL = AttributeKey.stringKey("maas.model");
    static final AttributeKey<String> VERSION = AttributeKey.stringKey("maas.model.version");
    static final AttributeKey<Long> BATCH_SIZE = AttributeKey.longKey("maas.batch.size");
    static final AttributeKey<Long> BATCH_ROWS = AttributeKey.longKey("maas.batch.rows");

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("quarkus.otel.sdk.disabled", "false",
                    "quarkus.otel.exporter.otlp.enabled", "false",
                    "quarkus.otel.bsp.schedule.delay", "0.05s");
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

    @BeforeEach
    void reset() {
        spans.reset();
    }

    /** A fresh trace id per call: spans of an earlier call may still be arriving (batched export). */
    static String newTraceId() {
        return String.format("%016x%016x", System.nanoTime(), ThreadLocalRandom.current().nextLong());
    }

    static String caller(String traceId) {
        return "00-" + traceId + "-" + CALLER_SPAN + "-01";
    }

    GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub traced(String traceId) {
        Metadata md = new Metadata();
        md.put(Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER), caller(traceId));
        return stub().withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
    }

    /** The finished spans of one trace once {@code n} have arrived (the batch processor exports within ~50 ms). */
    List<SpanData> finished(String traceId, int n) {
        await(n + " exported spans of trace " + traceId, () -> of(traceId).size() >= n);
        return of(traceId);
    }

    List<SpanData> of(String traceId) {
        return spans.getFinishedSpanItems().stream().filter(s -> s.getTraceId().equals(traceId)).toList();
    }

    static void await(String what, BooleanSupplier condition) {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < until, "timed out waiting for " + what);
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    static SpanData named(List<SpanData> all, String name) {
        List<SpanData> of = all.stream().filter(s -> s.getName().equals(name)).toList();
        assertEquals(1, of.size(), name + " spans: " + all);
        return of.get(0);
    }

    static SpanData server(List<SpanData> all) {
        List<SpanData> of = all.stream().filter(s -> s.getKind() == SpanKind.SERVER).toList();
        assertEquals(1, of.size(), "SERVER spans: " + all);
        return of.get(0);
    }

    /** queue then compute, both children of {@code server}, inside it, carrying model and version. */
    static SpanData assertPhases(List<SpanData> all, SpanData server, String model, String version) {
        SpanData queue = named(all, "queue");
        SpanData compute = named(all, "compute");
        for (SpanData s : List.of(queue, compute)) {
            assertEquals(server.getSpanId(), s.getParentSpanId(), s.getName() + " is a child of the server span");
            assertEquals(SpanKind.INTERNAL, s.getKind());
            assertEquals(model, s.getAttributes().get(MODEL));
            assertEquals(version, s.getAttributes().get(VERSION));
            assertTrue(s.getStartEpochNanos() >= server.getStartEpochNanos()
                    && s.getEndEpochNanos() <= server.getEndEpochNanos(), s.getName() + " lies within the server span");
        }
        assertTrue(queue.getEndEpochNanos() <= compute.getStartEpochNanos(), "the run starts after the queue wait");
        return compute;
    }

    @Test
    void grpcInferContinuesTheCallersTraceWithQueueAndComputeSpans() {
        String traceId = newTraceId();
        ModelInferResponse r = traced(traceId).modelInfer(TestModels.simple("1", 2, 0f));
        assertEquals("1", r.getModelVersion());

        List<SpanData> all = finished(traceId, 3);
        assertEquals(3, all.size(), "spans: " + all);
        SpanData server = server(all);
        assertEquals(CALLER_SPAN, server.getParentSpanId(), "the pod's span is a child of the caller's span");
        assertEquals("inference.GRPCInferenceService/ModelInfer", server.getName());
        assertEquals("simple", server.getAttributes().get(MODEL));
        assertEquals("1", server.getAttributes().get(VERSION));
        SpanData compute = assertPhases(all, server, "simple", "1");
        assertEquals(1L, compute.getAttributes().get(BATCH_SIZE));
        assertEquals(2L, compute.getAttributes().get(BATCH_ROWS));
    }

    /** MiniLM (dynamic batching, one instance): requests that queue while a run goes on are joined. */
    @Test
    void joinedRequestsEachShowTheBatchTheyRanIn() throws Exception {
        var async = GRPCInferenceServiceGrpc.newFutureStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
        List<String> traces = new ArrayList<>();
        List<ListenableFuture<ModelInferResponse>> calls = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            String traceId = newTraceId();
            traces.add(traceId);
            Metadata md = new Metadata();
            md.put(Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER), caller(traceId));
            calls.add(async.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md))
                    .modelInfer(TestModels.minilm("1", 1, 8)));
        }
        for (var call : calls) {
            call.get(60, TimeUnit.SECONDS);
        }
        List<Long> sizes = new ArrayList<>();
        for (String traceId : traces) {
            List<SpanData> all = finished(traceId, 3);
            SpanData compute = assertPhases(all, server(all), "minilm", "1");
            long size = compute.getAttributes().get(BATCH_SIZE);
            assertEquals(size, compute.getAttributes().get(BATCH_ROWS), "one row per request");
            sizes.add(size);
        }
        // a batch of k requests appears in exactly k traces
        Map<Long, Long> traceCount = sizes.stream().collect(Collectors.groupingBy(s -> s, Collectors.counting()));
        traceCount.forEach((size, count) -> assertEquals(0, count % size, "batch sizes " + sizes));
        assertTrue(sizes.stream().anyMatch(s -> s > 1), "16 concurrent requests were never joined: " + sizes);
    }

    @Test
    void refusedRequestHasOnlyTheServerSpan() {
        String traceId = newTraceId();
        assertStatus(Status.Code.NOT_FOUND, () -> traced(traceId).modelInfer(
                ModelInferRequest.newBuilder().setModelName("no-such-model").build()));
        SpanData server = server(finished(traceId, 1));
        assertEquals(CALLER_SPAN, server.getParentSpanId());
        assertNotEquals(StatusCode.ERROR, server.getStatus().getStatusCode(), "a caller's error, not a server fault");
        // children end before their parent, so they would have been exported with or before it
        assertEquals(1, of(traceId).size(), "nothing was queued: " + of(traceId));
    }

    @Test
    void restInferJoinsTheCallersTrace() {
        String traceId = newTraceId();
        String ones = "[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]";
        String body = "{\"inputs\":[{\"name\":\"INPUT0\",\"shape\":[1,16],\"datatype\":\"FP32\",\"data\":" + ones
                + "},{\"name\":\"INPUT1\",\"shape\":[1,16],\"datatype\":\"FP32\",\"data\":" + ones + "}]}";
        given().header("traceparent", caller(traceId)).body(body).post("/v2/models/simple/versions/2/infer")
                .then().statusCode(200);

        List<SpanData> all = finished(traceId, 3);
        assertEquals(3, all.size(), "spans: " + all);
        SpanData server = server(all);
        assertEquals(CALLER_SPAN, server.getParentSpanId());
        assertEquals("POST /v2/models/{model}/versions/{version}/infer", server.getName());
        SpanData compute = assertPhases(all, server, "simple", "2");
        assertEquals(1L, compute.getAttributes().get(BATCH_SIZE));
    }

    @Test
    void healthProbesAreNotTraced() {
        String probe = newTraceId();
        given().header("traceparent", caller(probe)).get("/v2/health/ready").then().statusCode(200);
        // spans are exported in the order they end: once a later call's spans are in, the probe's would be too
        String traceId = newTraceId();
        traced(traceId).modelInfer(TestModels.simple("1", 1, 0f));
        finished(traceId, 3);
        assertFalse(spans.getFinishedSpanItems().stream().anyMatch(s -> s.getTraceId().equals(probe)),
                "probe spans: " + of(probe));
    }
}
