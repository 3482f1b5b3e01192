package io.maas.router.adapters;

import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.netty.handler.codec.http2.Http2Headers;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;

/**
 * OpenTelemetry spans for the gRPC data plane, a frame-level proxy that gets no automatic
 * instrumentation (the REST twin's spans come from Quarkus). Each forwarded
 * call is a SERVER span, child of the caller's {@code traceparent}, with one CLIENT span per
 * attempt whose context replaces {@code traceparent}/{@code tracestate} towards the pod. With the
 * SDK disabled (the default) no span is made at all and the caller's headers pass through untouched:
 * Quarkus' disabled SDK still hands out a tracer whose spans record (into no processor), which cost
 * two span builders, random ids, clocks and attribute maps per call, and replaced the caller's
 * {@code traceparent} towards the pod.
 */
@ApplicationScoped
public class Tracing {
    public static final AttributeKey<String> MODEL = AttributeKey.stringKey("maas.model");
    public static final AttributeKey<String> VERSION = AttributeKey.stringKey("maas.model.version");
    public static final AttributeKey<String> TRACK = AttributeKey.stringKey("maas.track");
    public static final AttributeKey<String> TENANT = AttributeKey.stringKey("maas.tenant");
    private static final AttributeKey<String> RPC_SYSTEM = AttributeKey.stringKey("rpc.system");
    private static final AttributeKey<String> RPC_SERVICE = AttributeKey.stringKey("rpc.service");
    private static final AttributeKey<String> RPC_METHOD = AttributeKey.stringKey("rpc.method");
    private static final AttributeKey<Long> RPC_STATUS = AttributeKey.longKey("rpc.grpc.status_code");
    private static final AttributeKey<String> SERVER_ADDRESS = AttributeKey.stringKey("server.address");
    private static final AttributeKey<Long> SERVER_PORT = AttributeKey.longKey("server.port");
    private static final AttributeKey<Long> ATTEMPT = AttributeKey.longKey("maas.attempt");

    private static final TextMapGetter<Http2Headers> HTTP2 = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Http2Headers carrier) {
            java.util.List<String> names = new java.util.ArrayList<>();
            carrier.names().forEach(n -> names.add(n.toString()));
            return names;
        }

        @Override
        public String get(Http2Headers carrier, String key) {
            CharSequence v = carrier == null ? null : carrier.get(key);
            return v == null ? null : v.toString();
        }
    };

    @Inject
    OpenTelemetry openTelemetry;
    @ConfigProperty(name = "quarkus.otel.sdk.disabled", defaultValue = "false")
    boolean disabled;

    private Tracer tracer;
    private TextMapPropagator propagator;

    @PostConstruct
    void init() {
        tracer = openTelemetry.getTracer("io.maas.router");
        propagator = openTelemetry.getPropagators().getTextMapPropagator();
    }

    /**
     * The SERVER span of one forwarded call ({@code service} and {@code method} as in the gRPC path),
     * child of the context in the caller's HTTP/2 headers.
     */
    public Span server(String service, String method, Http2Headers callerHeaders) {
        if (disabled) {
            return Span.getInvalid();
        }
        Context parent = propagator.extract(Context.root(), callerHeaders, HTTP2);
        return tracer.spanBuilder(service + "/" + method).setParent(parent).setSpanKind(SpanKind.SERVER)
                .setAttribute(RPC_SYSTEM, "grpc").setAttribute(RPC_SERVICE, service).setAttribute(RPC_METHOD, method)
                .startSpan();
    }

    /** A CLIENT span for one attempt towards a pod, child of the call's span. */
    public Span client(Span call, String service, String method, String host, int port, int attempt) {
        if (disabled) {
            return Span.getInvalid();
        }
        return tracer.spanBuilder(service + "/" + method).setParent(Context.root().with(call))
                .setSpanKind(SpanKind.CLIENT)
                .setAttribute(RPC_SYSTEM, "grpc").setAttribute(RPC_SERVICE, service).setAttribute(RPC_METHOD, method)
                .setAttribute(SERVER_ADDRESS, host).setAttribute(SERVER_PORT, (long) port)
                .setAttribute(ATTEMPT, (long) attempt)
                .startSpan();
    }

    /** Replaces the trace headers going to the pod with {@code span}'s context; no-op for an invalid span. */
    public void inject(Span span, Http2Headers upstream) {
        if (!span.getSpanContext().isValid()) {
            return;
        }
        upstream.remove("traceparent");
        upstream.remove("tracestate");
        propagator.inject(Context.root().with(span), upstream, (carrier, key, value) -> carrier.set(key, value));
    }

    /**
     * Whether this thread runs inside a valid span (the REST twin's, made by Quarkus). Quarkus also
     * traces its Vert.x HTTP client, which then hands the pod its CLIENT span as {@code traceparent}.
     */
    public boolean inSpan() {
        return Span.current().getSpanContext().isValid();
    }

    /** Names the tenant on the current span (the REST twin's, made by Quarkus), if one is recording. */
    public void tenant(String tenant) {
        Span span = Span.current();
        if (span.isRecording()) {
            span.setAttribute(TENANT, tenant);
        }
    }

    /** Ends a span with the call's status; {@code serverSide} marks only server faults as errors. */
    public static void end(Span span, io.maas.router.domain.StatusCode code, String message, boolean serverSide) {
        if (!span.isRecording()) {
            span.end();
            return;
        }
        span.setAttribute(RPC_STATUS, (long) code.ordinal());
        boolean error = serverSide ? switch (code) {
            case UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS -> true;
            default -> false;
        } : code != io.maas.router.domain.StatusCode.OK;
        if (error) {
            span.setStatus(StatusCode.ERROR, message == null || message.isEmpty() ? code.name() : code + ": " + message);
        }
        span.end();
    }
}
