package io.maas.router.domain;

/**
 * The canonical status codes (the gRPC numbering, which the REST twin maps to HTTP), so the
 * forwarding pipeline can judge outcomes without a transport's types.
 */
public enum StatusCode {
    OK, CANCELLED, UNKNOWN, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED,
    RESOURCE_EXHAUSTED, FAILED_PRECONDITION, ABORTED, OUT_OF_RANGE, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS,
    UNAUTHENTICATED;

    private static final StatusCode[] BY_NUMBER = values();

    /** The code with this gRPC number; UNKNOWN for numbers outside the canonical set. */
    public static StatusCode of(int number) {
        return number >= 0 && number < BY_NUMBER.length ? BY_NUMBER[number] : UNKNOWN;
    }
}
