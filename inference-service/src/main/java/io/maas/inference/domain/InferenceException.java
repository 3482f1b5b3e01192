package io.maas.inference.domain;

/** A failure with the category the protocols map to a status (gRPC code, HTTP status). */
public class InferenceException extends RuntimeException {

    /** Categories named after the gRPC codes they become. */
    public enum Kind {
        INVALID_ARGUMENT, NOT_FOUND, UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, CANCELLED, INTERNAL
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
