package io.maas.registry.domain;

/** A refused registry operation; {@link Kind} maps one-to-one onto a gRPC status code. */
public final class RegistryException extends RuntimeException {

    public enum Kind { INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, ALREADY_EXISTS, ABORTED, UNAUTHENTICATED, PERMISSION_DENIED }

    private final Kind kind;

    public RegistryException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    public static RegistryException invalid(String message) {
        return new RegistryException(Kind.INVALID_ARGUMENT, message);
    }

    public static RegistryException notFound(String message) {
        return new RegistryException(Kind.NOT_FOUND, message);
    }

    public static RegistryException precondition(String message) {
        return new RegistryException(Kind.FAILED_PRECONDITION, message);
    }

    public static RegistryException exists(String message) {
        return new RegistryException(Kind.ALREADY_EXISTS, message);
    }

    public static RegistryException conflict(String message) {
        return new RegistryException(Kind.ABORTED, message);
    }
}
