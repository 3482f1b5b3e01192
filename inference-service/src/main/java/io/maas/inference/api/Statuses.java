package io.maas.inference.api;

import java.util.concurrent.CompletionException;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.maas.inference.domain.InferenceException;

/** Maps domain failures to gRPC statuses and HTTP status codes. */
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
            return Status.fromCode(Status.Code.valueOf(e.kind().name())).withDescription(e.getMessage())
                    .asRuntimeException();
        }
        if (cause instanceof StatusRuntimeException s) {
            return s;
        }
        return Status.INTERNAL.withDescription(String.valueOf(cause.getMessage())).withCause(cause)
                .asRuntimeException();
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
