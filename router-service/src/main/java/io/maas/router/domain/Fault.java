package io.maas.router.domain;

/**
 * Whose fault a failed call is: the one classification every decision of the router reads
 * (retry, outlier ejection, the canary's error rate), for gRPC, REST and shadow calls alike.
 * A caller's mistake never counts against a pod or a canary.
 */
public enum Fault {
    /** Succeeded. */
    NONE,
    /** The caller's: a request that can never succeed as sent, or the caller's own deadline or cancel. */
    CALLER,
    /** The server's: a pod or the router failed, or could not take the call. */
    SERVER;

    /**
     * @param callerDeadline whether the caller set the deadline; when the router's default deadline
     *                       ran out instead, the server was too slow
     */
    public static Fault of(StatusCode code, boolean callerDeadline) {
        return switch (code) {
            case OK -> NONE;
            case CANCELLED, INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED, FAILED_PRECONDITION,
                    ABORTED, OUT_OF_RANGE, UNIMPLEMENTED, UNAUTHENTICATED -> CALLER;
            case DEADLINE_EXCEEDED -> callerDeadline ? CALLER : SERVER;
            // a pod's full queue: the server's capacity, not the caller's request
            case RESOURCE_EXHAUSTED, UNKNOWN, INTERNAL, UNAVAILABLE, DATA_LOSS -> SERVER;
        };
    }

    /** Server faults that say a pod is broken (not merely busy or slow): these count toward its ejection. */
    public static boolean ejects(StatusCode code) {
        return code == StatusCode.UNAVAILABLE || code == StatusCode.INTERNAL || code == StatusCode.UNKNOWN
                || code == StatusCode.DATA_LOSS;
    }

    /** Only a call a pod certainly did not run is tried again elsewhere: retrying anything else repeats work or a caller's mistake. */
    public static boolean retries(Outcome outcome) {
        return outcome.unprocessed() && outcome.code() == StatusCode.UNAVAILABLE;
    }
}
