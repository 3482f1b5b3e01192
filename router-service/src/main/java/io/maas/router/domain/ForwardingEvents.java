package io.maas.router.domain;

/** What the forwarding pipeline reports besides its answer (adapters/RouterMetrics). */
public interface ForwardingEvents {

    /** One finished call (not a shadow): its method, target, final code and time in the router, retries included. */
    void call(String method, ModelKey key, String track, StatusCode code, long nanos);

    /** One finished call of a tenant (authentication off: "anonymous"). */
    void tenantCall(String tenant, String model, StatusCode code);

    /** A call tried again on another endpoint. */
    void retry(ModelKey key, String track);

    /** A call the canary failed through a server fault, answered by stable instead. */
    void canaryFallback(ModelKey canary, StatusCode code);

    /** An endpoint ejected after consecutive failures. */
    void ejection(ModelKey key, String endpoint, Outcome last);
}
