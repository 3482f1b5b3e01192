package io.maas.router.domain;

import io.maas.auth.Caller;
import io.maas.auth.Quotas;

import java.util.ArrayList;
import java.util.List;

/**
 * One call across its attempts, driven by {@link Forwarding}: the transport reports each attempt
 * with {@link #attemptDone} and hears the final outcome through {@link Upstream#finish}.
 */
public final class ForwardedCall {
    private final Forwarding pipeline;
    private final CallKind kind;
    private Target target;
    private final Caller caller;
    private final Quotas.Permit permit;
    private final Upstream upstream;
    private final long deadlineNanos;
    private final boolean callerDeadline;
    private final long start = System.nanoTime();
    private final List<Endpoint> tried = new ArrayList<>(2);
    private Outcome last;
    private boolean cancelled;
    private boolean fellBack;
    private boolean done;

    ForwardedCall(Forwarding pipeline, CallKind kind, Target target, Caller caller, Quotas.Permit permit,
                  Upstream upstream, long deadlineNanos, boolean callerDeadline) {
        this.pipeline = pipeline;
        this.kind = kind;
        this.target = target;
        this.caller = caller;
        this.permit = permit;
        this.upstream = upstream;
        this.deadlineNanos = deadlineNanos;
        this.callerDeadline = callerDeadline;
    }

    public Target target() {
        return target;
    }

    void begin() {
        if (!kind.shadow()) {
            pipeline.state.callStarted();
        }
        next();
    }

    private void next() {
        if (deadlineNanos != 0 && System.nanoTime() - deadlineNanos >= 0) {
            finish(Outcome.of(StatusCode.DEADLINE_EXCEEDED, "deadline expired in the router"
                    + (last == null ? "" : " after " + last.code() + ": " + last.message())));
            return;
        }
        Endpoint endpoint = pick();
        if (endpoint == null) {
            ModelKey key = target.key();
            Outcome o = last != null ? last : Outcome.of(StatusCode.UNAVAILABLE, "no available endpoint for " + key
                    + (pipeline.pool.endpoints(key).isEmpty() ? " (no pod serving it was discovered)" : " (all ejected)"));
            if (!cancelled && fallsBack(Fault.of(o.code(), callerDeadline))) {
                fallBack(o);
            } else {
                finish(o);
            }
            return;
        }
        tried.add(endpoint);
        endpoint.acquired();
        upstream.send(this, endpoint, tried.size());
    }

    private Endpoint pick() {
        Endpoint e = pipeline.pool.pick(target.key(), tried);
        while (e != null && !upstream.reaches(e)) {
            tried.add(e);
            e = pipeline.pool.pick(target.key(), tried);
        }
        return e;
    }

    /** How the attempt sent to {@code endpoint} ended. */
    public void attemptDone(Endpoint endpoint, Outcome outcome) {
        endpoint.released();
        Outcome o = outcome;
        boolean misrouted = o.code() == StatusCode.NOT_FOUND;
        if (misrouted) {
            // The router checked the version exists and discovery lists this pod for it: the pod is
            // wrong, not the caller. Another pod may have it; this one is not ejected for it.
            o = new Outcome(StatusCode.UNAVAILABLE, "endpoint " + endpoint + " does not serve " + target.key()
                    + " although discovery lists it: " + o.message(), true);
        }
        Fault fault = Fault.of(o.code(), callerDeadline);
        if (!misrouted) {
            pipeline.judge(target.key(), endpoint, o, fault);
        }
        last = o;
        synchronized (this) {
            if (done) {
                return;
            }
            if (!cancelled && !kind.shadow() && Fault.retries(o) && tried.size() < pipeline.policy.maxAttempts()) {
                pipeline.events.retry(target.key(), target.track());
                next();
                return;
            }
            if (!cancelled && fallsBack(fault)) {
                fallBack(o);
                return;
            }
        }
        finish(o);
    }

    /**
     * Whether stable answers instead: the split (not the caller) chose the canary, and the canary
     * failed through the server's fault. Inference is idempotent, so asking stable repeats no side
     * effect; a caller's mistake would fail on stable alike, so it is not tried again.
     */
    private boolean fallsBack(Fault fault) {
        return fault == Fault.SERVER && !fellBack && kind.infer() && !kind.shadow()
                && pipeline.canary.fallsBackToStable() && target.splitToCanary();
    }

    /** The canary's failure is its evidence (the guard, the registry's rollout gates); stable answers. */
    private void fallBack(Outcome failed) {
        fellBack = true;
        pipeline.canary.record(target.key(), true, System.nanoTime() - start);
        pipeline.events.canaryFallback(target.key(), failed.code());
        target = target.toStable();
        tried.clear();
        next();
    }

    /** The caller went away: no further attempt. The transport cancels the attempt in flight itself. */
    public synchronized void cancel() {
        cancelled = true;
    }

    private void finish(Outcome outcome) {
        synchronized (this) {
            if (done) {
                return;
            }
            done = true;
        }
        permit.release();
        upstream.finish(outcome);
        if (kind.shadow()) {
            return;
        }
        long nanos = System.nanoTime() - start;
        pipeline.events.call(kind.method(), target.key(), target.track(), outcome.code(), nanos);
        pipeline.events.tenantCall(caller.tenant(), target.key().model(), outcome.code());
        Fault fault = Fault.of(outcome.code(), callerDeadline);
        if (kind.infer() && fault != Fault.CALLER) {
            // a caller's mistake is no evidence about a version: it is left out of the window entirely
            pipeline.canary.record(target.key(), fault == Fault.SERVER, nanos);
        }
        pipeline.state.callFinished();
    }
}
