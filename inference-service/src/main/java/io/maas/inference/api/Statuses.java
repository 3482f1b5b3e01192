package io.maas.inference.api;

import java.util.concurrent.CompletionException;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.maas.auth.AuthException;
import io.maas.inference.domain.InferenceException;

/**
 * The one place where failures become protocol answers: a domain failure's kind (already classified
 * as the caller's or the server's fault in the domain) maps to a gRPC status and to an HTTP status,
 * for the gRPC service and the REST twin alike. Anything else is a bug: INTERNAL / 500.
 */
final class Statuses {
    private Statuses() {
    }

    /** The failure itself, not the CompletionException a future wraps it in. */
    static Throwable cause(Throwable t) {
        return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    }

    static StatusRuntimeException grpc(Throwable t) {
        Throwable cause = cause(t);
        if (cause instanceof InferenceException e) {
            return grpcCode(e.kind()).toStatus().withDescription(e.getMessage()).asRuntimeException();
        }
        if (cause instanceof StatusRuntimeException s) {
            return s;
        }
        if (cause instanceof AuthException e) {
            return (switch (e.kind()) {
                case UNAUTHENTICATED -> Status.UNAUTHENTICATED;
                case PERMISSION_DENIED -> Status.PERMISSION_DENIED;
                case RESOURCE_EXHAUSTED -> Status.RESOURCE_EXHAUSTED;
            }).withDescription(e.getMessage()).asRuntimeException();
        }
        return Status.INTERNAL.withDescription(String.valueOf(cause.getMessage())).withCause(cause)
                .asRuntimeException();
    }

    /** The HTTP status of the REST twin's answer for the same failure. */
    static int http(Throwable t) {
        Throwable cause = cause(t);
        if (cause instanceof AuthException e) {
            return switch (e.kind()) {
                case UNAUTHENTICATED -> 401;
                case PERMISSION_DENIED -> 403;
                case RESOURCE_EXHAUSTED -> 429;
            };
        }
        return cause instanceof InferenceException e ? http(e.kind()) : 500;
    }

    static Status.Code grpcCode(InferenceException.Kind kind) {
        return switch (kind) {
            case INVALID_ARGUMENT -> Status.Code.INVALID_ARGUMENT;
            case NOT_FOUND -> Status.Code.NOT_FOUND;
            case RESOURCE_EXHAUSTED -> Status.Code.RESOURCE_EXHAUSTED;
            case DEADLINE_EXCEEDED -> Status.Code.DEADLINE_EXCEEDED;
            case CANCELLED -> Status.Code.CANCELLED;
            case UNAVAILABLE -> Status.Code.UNAVAILABLE;
            case INTERNAL -> Status.Code.INTERNAL;
        };
    }

    static int http(InferenceException.Kind kind) {
        return switch (kind) {
            case INVALID_ARGUMENT -> 400;
            case NOT_FOUND -> 404;
            case RESOURCE_EXHAUSTED -> 429;
            case DEADLINE_EXCEEDED -> 504;
            case CANCELLED -> 499;
            case UNAVAILABLE -> 503;
            case INTERNAL -> 500;
        };
    }
}
