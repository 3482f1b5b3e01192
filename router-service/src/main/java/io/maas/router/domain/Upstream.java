package io.maas.router.domain;

/**
 * A transport's side of one forwarded call (gRPC, REST, shadow): it sends attempts where the
 * pipeline says and reports how each ended; the pipeline decides everything else.
 */
public interface Upstream {

    /** Whether this transport can reach the endpoint at all (the REST twin needs its HTTP address). */
    default boolean reaches(Endpoint endpoint) {
        return true;
    }

    /**
     * Sends attempt number {@code attempt} (from 1) to {@code endpoint}. The transport keeps the
     * pod's response and reports the attempt's outcome with {@link ForwardedCall#attemptDone} exactly
     * once, on any thread.
     */
    void send(ForwardedCall call, Endpoint endpoint, int attempt);

    /** The call's final outcome, exactly once: on OK the transport answers with the response it holds. */
    void finish(Outcome outcome);
}
