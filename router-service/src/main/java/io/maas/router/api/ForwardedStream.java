package io.maas.router.api;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

import io.maas.auth.Caller;
import io.maas.auth.Operation;
import io.maas.auth.Quotas;
import io.maas.router.adapters.CallerHeaders;
import io.maas.router.adapters.GrpcWire;
import io.maas.router.adapters.LoopChannels;
import io.maas.router.adapters.PodConnection;
import io.maas.router.adapters.RequestHeader;
import io.maas.router.adapters.Tracing;
import io.maas.router.domain.CallKind;
import io.maas.router.domain.Endpoint;
import io.maas.router.domain.ForwardedCall;
import io.maas.router.domain.Forwarding;
import io.maas.router.domain.ModelKey;
import io.maas.router.domain.Outcome;
import io.maas.router.domain.StatusCode;
import io.maas.router.domain.Target;
import io.maas.router.domain.Upstream;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;
import io.netty.util.concurrent.ScheduledFuture;
import io.opentelemetry.api.trace.Span;

/**
 * One model-scoped call (ModelInfer, ModelMetadata, ModelReady, ModelConfig) forwarded at the frame
 * level: the request message is read only for its model name and version, the pipeline
 * ({@link Forwarding}) chooses the version and the endpoints, and the pod's frames come back to the
 * caller as received, with {@code x-maas-model-version} and {@code x-maas-track} added. The
 * chosen version is appended to the message as field 2 when the caller named none.
 */
final class ForwardedStream extends FrontConnection.Call implements Upstream {
    static final AsciiString PIN = AsciiString.cached("x-model-version");
    static final AsciiString CANARY = AsciiString.cached("x-maas-canary");
    static final AsciiString ROUTING_KEY = AsciiString.cached("x-routing-key");
    static final AsciiString VERSION_OUT = AsciiString.cached("x-maas-model-version");
    static final AsciiString TRACK_OUT = AsciiString.cached("x-maas-track");
    static final AsciiString AUTHORIZATION = AsciiString.cached("authorization");
    static final AsciiString API_KEY = AsciiString.cached("x-api-key");

    private final DataPlaneServer server;
    private final CallKind kind;
    private final Operation op;
    private final Caller caller;
    private final Span span;
    /** {@link System#nanoTime()} by which the call ends, 0 for none; whether the caller set it. */
    private long deadlineNanos;
    private final boolean callerDeadline;
    /** The request message (prefix stripped), kept for retries and the shadow. */
    private ByteBuf message;
    private RequestHeader requested;
    private Target target;
    private ForwardedCall forwarded;
    private ScheduledFuture<?> timer;
    /** The attempt in flight. */
    private Attempt attempt;
    private Http2Headers responseHeaders;
    private ByteBuf response;
    private Http2Headers responseTrailers;
    private boolean finished;
    private ShadowMirror.Shadow shadow;

    ForwardedStream(FrontConnection conn, int id, Http2Headers headers, DataPlaneServer server, CallKind kind,
            Operation op, Caller caller) {
        super(conn, id, headers);
        this.server = server;
        this.kind = kind;
        this.op = op;
        this.caller = caller;
        this.span = server.tracing.server(DataPlaneServer.SERVICE, kind.method(), headers);
        span.setAttribute(Tracing.TENANT, caller.tenant());
        long timeout = GrpcWire.timeoutNanos(headers.get(GrpcWire.GRPC_TIMEOUT));
        callerDeadline = timeout >= 0;
        long byDefault = server.forwarding.defaultDeadlineNanos();
        deadlineNanos = callerDeadline ? System.nanoTime() + timeout : byDefault;
        // the request itself must arrive within the default deadline even when the caller's is later:
        // a caller stalling part-way through a large message would otherwise hold its bytes that long
        long first = byDefault != 0 && (deadlineNanos == 0 || byDefault < deadlineNanos) ? byDefault : deadlineNanos;
        if (first != 0) {
            timer = conn.ctx.executor().schedule(this::deadlineExpired, Math.max(0, first - System.nanoTime()),
                    TimeUnit.NANOSECONDS);
        }
    }

    @Override
    void end() {
        message = message();
        if (message == null) {
            stopTimer();
            endSpan(StatusCode.INTERNAL, "no request message");
            return;
        }
        try {
            requested = RequestHeader.parse(message.nioBuffer());
        } catch (IOException | RuntimeException e) {
            refuse(StatusCode.INVALID_ARGUMENT, "request is not a valid protobuf message: " + e.getMessage(), null);
            return;
        }
        Quotas.Permit permit;
        try {
            target = server.forwarding.target(caller, op, requested.model(), requested.version(), header(PIN),
                    header(CANARY), header(ROUTING_KEY));
            permit = server.forwarding.admit(caller, op, target);
        } catch (Forwarding.Refused e) {
            refuse(e.outcome().code(), e.outcome().message(), DataPlaneServer.retryHint(e));
            return;
        }
        ModelKey key = target.key();
        span.setAttribute(Tracing.MODEL, key.model());
        span.setAttribute(Tracing.VERSION, key.version());
        span.setAttribute(Tracing.TRACK, target.track());
        forwarded = server.forwarding.start(kind, target, caller, permit, this, deadlineNanos, callerDeadline);
        if (kind.infer() && !finished) {
            // after the primary is on its way; a no-op unless a shadow rule selects this call
            shadow = server.mirror.maybeMirror(key.model(), key.version(), target.route(), () -> {
                byte[] bytes = new byte[message.readableBytes()];
                message.getBytes(message.readerIndex(), bytes);
                return bytes;
            }, () -> CallerHeaders.metadata(headers), callerDeadline ? deadlineNanos : 0);
        }
    }

    private String header(AsciiString name) {
        CharSequence v = headers.get(name);
        return v == null ? null : v.toString();
    }

    /** One attempt on one pod: the pod's frames as they come. */
    private final class Attempt implements PodConnection.Listener {
        final ForwardedCall call;
        final Endpoint endpoint;
        final Span span;
        PodConnection.Stream stream;
        Http2Headers headers;
        ByteBuf body;
        boolean done;

        Attempt(ForwardedCall call, Endpoint endpoint, Span span) {
            this.call = call;
            this.endpoint = endpoint;
            this.span = span;
        }

        @Override
        public void onHeaders(Http2Headers h, boolean endStream) {
            if (!endStream) {
                headers = h;
                return;
            }
            StatusCode code;
            String text;
            CharSequence status = h.get(GrpcWire.GRPC_STATUS);
            if (status != null) {
                code = GrpcWire.status(status);
                text = GrpcWire.decodeMessage(h.get(GrpcWire.GRPC_MESSAGE));
            } else {
                // not a gRPC answer (a proxy's or a plain HTTP server's): its HTTP status says why
                CharSequence http = (headers != null ? headers : h).status();
                code = GrpcWire.fromHttp(http);
                text = "the pod answered HTTP " + http + " without a gRPC status";
            }
            done(new Outcome(code, text, false), h);
        }

        @Override
        public void onData(ByteBuf data, boolean endStream) {
            if (done) {
                return;
            }
            if ((body == null ? 0 : body.readableBytes()) + data.readableBytes() > server.maxMessageBytes() + GrpcWire.PREFIX) {
                cancel();
                done(new Outcome(StatusCode.RESOURCE_EXHAUSTED, "the pod's response exceeds the maximum message size "
                        + server.maxMessageBytes(), false), null);
                return;
            }
            body = GrpcWire.append(body, data);
            if (endStream) {
                done(new Outcome(StatusCode.INTERNAL, "the pod's answer ended without a gRPC status", false), null);
            }
        }

        @Override
        public void onClosed(String why) {
            // UNAVAILABLE before any response header: the pod never ran it, so another may
            boolean responded = headers != null || body != null;
            done(new Outcome(StatusCode.UNAVAILABLE, why, !responded), null);
        }

        void cancel() {
            if (stream != null) {
                stream.cancel();
            }
        }

        void done(Outcome outcome, Http2Headers trailers) {
            if (done) {
                return;
            }
            done = true;
            if (attempt == this) {
                attempt = null;
            }
            Tracing.end(span, outcome.code(), outcome.message(), false);
            if (outcome.ok() && body != null && !finished) {
                responseHeaders = headers;
                response = body;
                body = null;
            } else if (body != null) {
                body.release();
                body = null;
            }
            responseTrailers = trailers;
            call.attemptDone(endpoint, outcome);
        }
    }

    @Override
    public void send(ForwardedCall call, Endpoint endpoint, int number) {
        Target t = call.target();
        target = t;
        PodConnection pod = ((LoopChannels) endpoint.connections()).pod();
        Span attemptSpan = server.tracing.client(span, DataPlaneServer.SERVICE, kind.method(), endpoint.host(),
                endpoint.port(), number);
        Attempt a = new Attempt(call, endpoint, attemptSpan);
        attempt = a;
        Http2Headers out = new DefaultHttp2Headers(false)
                .method(GrpcWire.POST).scheme(pod.tls() ? GrpcWire.HTTPS : GrpcWire.HTTP)
                .path(headers.path()).authority(pod.authority())
                .add(GrpcWire.CONTENT_TYPE, GrpcWire.APPLICATION_GRPC).add(GrpcWire.TE, GrpcWire.TRAILERS);
        if (deadlineNanos != 0) {
            out.add(GrpcWire.GRPC_TIMEOUT, GrpcWire.timeout(deadlineNanos - System.nanoTime()));
        }
        CallerHeaders.forward(headers, out);
        server.tracing.inject(attemptSpan, out);
        ByteBuf body = request(t.key().version());
        if (pod.loop().inEventLoop()) {
            a.stream = pod.open(out, body, a);
        } else {
            pod.loop().execute(() -> a.stream = pod.open(out, body, a));
        }
    }

    /** The framed request for one attempt: as received, or with {@code version} appended as field 2. */
    private ByteBuf request(String version) {
        if (version.equals(requested.version())) {
            // the caller's own frame, prefix included (message() only skipped past it)
            return message.retainedSlice(message.readerIndex() - GrpcWire.PREFIX, message.readableBytes() + GrpcWire.PREFIX);
        }
        byte[] suffix = RequestHeader.versionSuffix(version);
        CompositeByteBuf out = conn.ctx.alloc().compositeBuffer(3);
        out.addComponent(true, conn.ctx.alloc().buffer(GrpcWire.PREFIX).writeByte(0)
                .writeInt(message.readableBytes() + suffix.length));
        out.addComponent(true, message.retainedDuplicate());
        out.addComponent(true, io.netty.buffer.Unpooled.wrappedBuffer(suffix));
        return out;
    }

    @Override
    public void finish(Outcome outcome) {
        if (finished) {
            return;
        }
        finished = true;
        stopTimer();
        ShadowMirror.Shadow s = shadow;
        byte[] primary = null;
        if (outcome.ok() && response != null) {
            if (s != null) {
                primary = messageBytes(response);
            }
            Http2Headers h = responseHeaders != null ? responseHeaders : GrpcWire.responseHeaders();
            h.set(VERSION_OUT, target.key().version());
            h.set(TRACK_OUT, target.track());
            Http2Headers t = responseTrailers != null ? responseTrailers
                    : GrpcWire.withStatus(new DefaultHttp2Headers(false), StatusCode.OK, null);
            answered = true;
            conn.write(id, h, response, t);
            response = null;
        } else {
            if (response != null) {
                response.release();
                response = null;
            }
            Http2Headers extra = new DefaultHttp2Headers(false);
            if (responseTrailers != null && outcome.code() != StatusCode.DEADLINE_EXCEEDED) {
                for (var e : responseTrailers) {
                    CharSequence n = e.getKey();
                    if (n.length() > 0 && n.charAt(0) != ':' && !AsciiString.contentEquals(n, GrpcWire.CONTENT_TYPE)) {
                        extra.add(n, e.getValue());
                    }
                }
            }
            if (target != null) {
                extra.set(VERSION_OUT, target.key().version());
                extra.set(TRACK_OUT, target.track());
            }
            answer(outcome.code(), outcome.message(), extra);
        }
        releaseMessage();
        if (s != null) {
            s.primaryResult(primary);
        }
        endSpan(outcome.code(), outcome.message());
    }

    /** A response's first message, for the shadow comparison. */
    private static byte[] messageBytes(ByteBuf framed) {
        if (framed.readableBytes() < GrpcWire.PREFIX) {
            return null;
        }
        int length = (int) Math.min(framed.getUnsignedInt(framed.readerIndex() + 1), framed.readableBytes() - GrpcWire.PREFIX);
        byte[] out = new byte[length];
        framed.getBytes(framed.readerIndex() + GrpcWire.PREFIX, out);
        return out;
    }

    /** Refused before forwarding: answered here, never counted against a version. */
    private void refuse(StatusCode code, String message, Http2Headers extra) {
        finished = true;
        stopTimer();
        releaseMessage();
        answer(code, message, extra);
        endSpan(code, message);
    }

    private void deadlineExpired() {
        timer = null;
        if (finished) {
            return;
        }
        long left = deadlineNanos == 0 ? Long.MAX_VALUE : deadlineNanos - System.nanoTime();
        if (left > 0 && forwarded == null && message == null) {
            refuse(StatusCode.DEADLINE_EXCEEDED, "the request did not arrive whole within "
                    + server.forwarding.defaultTimeoutMs() + " ms (maas.balancer.default-timeout-ms): send it at once", null);
            return;
        }
        if (left > 0) {
            // the request arrived in time; the caller's own, later deadline goes on
            timer = conn.ctx.executor().schedule(this::deadlineExpired, left, TimeUnit.NANOSECONDS);
            return;
        }
        Attempt a = attempt;
        String text = "deadline exceeded after " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started) + " ms";
        if (a != null) {
            a.cancel();
            a.done(Outcome.of(StatusCode.DEADLINE_EXCEEDED, text + " waiting for " + a.endpoint), null);
        } else if (forwarded == null) {
            refuse(StatusCode.DEADLINE_EXCEEDED, text + " before the request was complete", null);
        }
    }

    private final long started = System.nanoTime();

    @Override
    void cancelled() {
        if (forwarded == null) {
            finished = true;
            stopTimer();
            releaseMessage();
            endSpan(StatusCode.CANCELLED, "caller cancelled");
            return;
        }
        if (finished) {
            return;
        }
        forwarded.cancel();
        Attempt a = attempt;
        if (a != null) {
            a.cancel();
            a.done(Outcome.of(StatusCode.CANCELLED, "caller cancelled"), null);
        }
    }

    private void stopTimer() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    private void releaseMessage() {
        if (message != null) {
            message.release();
            message = null;
        }
    }

    private void endSpan(StatusCode code, String message) {
        Tracing.end(span, code, message, true);
    }
}
