package io.maas.router.api;

import io.maas.router.adapters.CallerHeaders;
import io.maas.router.adapters.GrpcStatuses;
import io.maas.router.adapters.LoopChannels;
import io.maas.router.adapters.Payload;
import io.maas.router.adapters.RequestHeader;
import io.maas.router.adapters.RouterConfig;
import io.maas.router.adapters.RouterMetrics;
import io.maas.router.adapters.ShadowOutputs;
import io.maas.router.domain.CallKind;
import io.maas.router.domain.Endpoint;
import io.maas.router.domain.ForwardedCall;
import io.maas.router.domain.Forwarding;
import io.maas.router.domain.ModelKey;
import io.maas.router.domain.Outcome;
import io.maas.router.domain.Route;
import io.maas.router.domain.ShadowRules;
import io.maas.router.domain.StatusCode;
import io.maas.router.domain.Target;
import io.maas.router.domain.TrafficTally;
import io.maas.router.domain.Upstream;

import java.util.function.Supplier;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.maas.proto.inference.GRPCInferenceServiceGrpc;
import io.maas.proto.inference.ModelInferResponse;
import io.maas.router.adapters.Bytes;
import io.quarkus.runtime.Startup;

/**
 * Shadow traffic: a configured share of a model's ModelInfer calls is mirrored (same bytes, the
 * shadow version appended as field 2) to an endpoint of a candidate version, fire-and-forget.
 * The caller only ever gets the primary's response. A shadow goes through the same pipeline as
 * the primary (one attempt; a pod's server faults count toward its ejection like any other call),
 * is never counted in the primary's metrics or the canary window, and is dropped when
 * {@code max-in-flight} shadows are already pending. Once both responses are in, they are decoded and compared on a separate
 * thread (the only place the router decodes tensors), and the result goes to metrics.
 */
@Startup
@ApplicationScoped
public class ShadowMirror {

    private static final System.Logger LOG = System.getLogger(ShadowMirror.class.getName());
    static final Metadata.Key<String> SHADOW_HEADER = Metadata.Key.of("x-maas-shadow", Metadata.ASCII_STRING_MARSHALLER);

    private static final MethodDescriptor<Payload, byte[]> INFER = MethodDescriptor.<Payload, byte[]> newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName(GRPCInferenceServiceGrpc.getModelInferMethod().getFullMethodName())
            .setRequestMarshaller(Payload.MARSHALLER).setResponseMarshaller(Bytes.MARSHALLER).build();

    @Inject
    RouterConfig config;
    @Inject
    Forwarding forwarding;
    @Inject
    RouterMetrics metrics;
    @Inject
    TrafficTally tally;

    private volatile ShadowRules rules = ShadowRules.NONE;
    private volatile int maxInFlight;
    private final AtomicInteger inFlight = new AtomicInteger();
    private ThreadPoolExecutor comparer;

    @PostConstruct
    void init() {
        rules = ShadowRules.parse(config.shadow().rules().orElse(""));
        maxInFlight = config.shadow().maxInFlight();
        // one thread; its queue is bounded by max-in-flight, since every queued comparison holds a slot
        comparer = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "shadow-compare");
            t.setDaemon(true);
            return t;
        });
        if (!rules.isEmpty()) {
            LOG.log(System.Logger.Level.INFO, "shadow rules: {0}, max in flight {1}", rules, maxInFlight);
        }
    }

    @PreDestroy
    void close() {
        comparer.shutdownNow();
    }

    /** Replaces the rules and the in-flight limit at run time (tests, operations). */
    public void configure(ShadowRules rules, int maxInFlight) {
        this.rules = rules;
        this.maxInFlight = maxInFlight;
        LOG.log(System.Logger.Level.INFO, "shadow rules: {0}, max in flight {1}", rules, maxInFlight);
    }

    public int inFlight() {
        return inFlight.get();
    }

    /**
     * Called on the hot path once the primary is sent: null (nearly free) unless this call is to
     * be mirrored; otherwise the shadow call has been started and the returned handle must be
     * given the primary's outcome. {@code headers} are the caller's, filtered here only when mirrored.
     */
    public Shadow maybeMirror(String model, String primaryVersion, Route route, Supplier<byte[]> request,
            Supplier<Metadata> headers, long callerDeadlineNanos) {
        ShadowRules r = rules;
        if (r.isEmpty()) {
            return null;
        }
        String version = r.shadowVersion(model, primaryVersion, route);
        if (version == null) {
            return null;
        }
        double share = r.rule(model).share();
        if (share < 1 && ThreadLocalRandom.current().nextDouble() >= share) {
            return null;
        }
        if (inFlight.incrementAndGet() > maxInFlight) {
            inFlight.decrementAndGet();
            metrics.shadow(model, primaryVersion, version, "dropped");
            return null;
        }
        Shadow s = new Shadow(model, primaryVersion, version);
        // outside the caller's gRPC context: the caller's call ending must not cancel its shadow
        Context.ROOT.run(() -> s.start(request.get(), headers.get(), callerDeadlineNanos));
        return s;
    }

    /** One mirrored call: holds both responses until the comparison. */
    public final class Shadow {
        final String model;
        final String version;
        final String shadowVersion;
        private byte[] primary;
        private byte[] shadow;
        private boolean primaryDone;
        private boolean shadowDone;
        private String failure;

        Shadow(String model, String version, String shadowVersion) {
            this.model = model;
            this.version = version;
            this.shadowVersion = shadowVersion;
        }

        void start(byte[] request, Metadata headers, long callerDeadlineNanos) {
            long deadlineNanos = System.nanoTime() + config.shadow().timeoutMs() * 1_000_000L;
            if (callerDeadlineNanos != 0 && callerDeadlineNanos - deadlineNanos < 0) {
                deadlineNanos = callerDeadlineNanos;
            }
            Deadline deadline = Deadline.after(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
            Metadata md = CallerHeaders.forwarded(headers);
            md.put(SHADOW_HEADER, "true");
            Payload payload = new Payload(request, RequestHeader.versionSuffix(shadowVersion));
            long start = System.nanoTime();
            forwarding.start(CallKind.SHADOW, new Target(new ModelKey(model, shadowVersion), "shadow", null), new Upstream() {
                volatile byte[] response;

                @Override
                public void send(ForwardedCall call, Endpoint endpoint, int attempt) {
                    try {
                        ClientCall<Payload, byte[]> c = ((LoopChannels) endpoint.connections()).current().newCall(INFER,
                                CallOptions.DEFAULT.withDeadline(deadline)
                                        .withMaxOutboundMessageSize(config.balancer().maxMessageBytes()));
                        c.start(new ClientCall.Listener<>() {
                            boolean responded;

                            @Override
                            public void onHeaders(Metadata h) {
                                responded = true;
                            }

                            @Override
                            public void onMessage(byte[] message) {
                                response = message;
                            }

                            @Override
                            public void onClose(Status status, Metadata trailers) {
                                call.attemptDone(endpoint, GrpcStatuses.outcome(status, responded));
                            }
                        }, md);
                        c.request(2);
                        c.sendMessage(payload);
                        c.halfClose();
                    } catch (RuntimeException e) {
                        call.attemptDone(endpoint, new Outcome(StatusCode.INTERNAL, "shadow call failed to start: " + e, true));
                    }
                }

                @Override
                public void finish(Outcome outcome) {
                    if (outcome.ok() && response != null) {
                        metrics.shadowLatency(model, shadowVersion, System.nanoTime() - start);
                        shadowResult(response, null);
                    } else {
                        LOG.log(System.Logger.Level.DEBUG, "shadow call to {0}:{1} failed: {2} {3}", model, shadowVersion,
                                outcome.code(), outcome.message());
                        shadowResult(null, "shadow_failed");
                    }
                }
            }, deadlineNanos, callerDeadlineNanos != 0);
        }

        /** The primary's outcome: its response bytes when it succeeded, null otherwise. */
        public void primaryResult(byte[] response) {
            boolean both;
            synchronized (this) {
                if (primaryDone) {
                    return;
                }
                primaryDone = true;
                primary = response;
                both = shadowDone;
            }
            if (both) {
                finish();
            }
        }

        private void shadowResult(byte[] response, String failed) {
            boolean both;
            synchronized (this) {
                shadowDone = true;
                shadow = response;
                failure = failed;
                both = primaryDone;
            }
            if (both) {
                finish();
            }
        }

        private void finish() {
            if (failure != null) {
                done(failure);
            } else if (primary == null) {
                done("primary_failed");
            } else {
                try {
                    comparer.execute(this::compare);
                } catch (RuntimeException e) { // shutting down
                    inFlight.decrementAndGet();
                }
            }
        }

        private void compare() {
            try {
                var result = ShadowOutputs.compare(ModelInferResponse.parseFrom(primary), ModelInferResponse.parseFrom(shadow));
                for (var d : result.compared()) {
                    metrics.shadowOutput(model, version, shadowVersion, d.output(), d.maxAbsDiff(), d.cosine());
                    tally.shadow(model, version, shadowVersion, d.maxAbsDiff(), d.cosine());
                }
                done(result.mismatched().isEmpty() ? "compared" : "mismatched_shape");
            } catch (Exception e) {
                LOG.log(System.Logger.Level.DEBUG, "shadow comparison failed", e);
                done("compare_failed");
            }
        }

        private void done(String result) {
            primary = null;
            shadow = null;
            metrics.shadow(model, version, shadowVersion, result);
            inFlight.decrementAndGet();
        }
    }
}
