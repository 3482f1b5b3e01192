package io.maas.inference.domain;

/**
 * A failure with its category, classified once here: the protocols map the category to a status
 * (gRPC code, HTTP status) and the scheduler uses its {@link Fault} to decide whether a failed
 * joined batch is split and re-run.
 */
public class InferenceException extends RuntimeException {

    /** Whose fault a failure is. */
    public enum Fault {
        /** The request can never succeed as sent (or the caller gave up); retrying elsewhere does not help. */
        CALLER,
        /** The server could not serve a valid request; another pod or a later retry may. */
        SERVER
    }

    /** Categories named after the gRPC codes they become. */
    public enum Kind {
        /** Malformed request, or values the model refuses (e.g. token ids outside the vocabulary). */
        INVALID_ARGUMENT(Fault.CALLER),
        NOT_FOUND(Fault.CALLER),
        UNAVAILABLE(Fault.SERVER),
        /** The pod's queue is full: overload, not a quota. */
        RESOURCE_EXHAUSTED(Fault.SERVER),
        /** The caller's own deadline passed. */
        DEADLINE_EXCEEDED(Fault.CALLER),
        CANCELLED(Fault.CALLER),
        INTERNAL(Fault.SERVER);

        private final Fault fault;

        Kind(Fault fault) {
            this.fault = fault;
        }

        public Fault fault() {
            return fault;
        }
    }

    private final Kind kind;

    public InferenceException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public InferenceException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    public Fault fault() {
        return kind.fault();
    }

    public static InferenceException invalid(String message) {
        return new InferenceException(Kind.INVALID_ARGUMENT, message);
    }

    public static InferenceException notFound(String message) {
        return new InferenceException(Kind.NOT_FOUND, message);
    }

    public static InferenceException unavailable(String message) {
        return new InferenceException(Kind.UNAVAILABLE, message);
    }
}
