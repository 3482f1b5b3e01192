package io.maas.registry.api;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.maas.registry.domain.RegistryException;

/** Maps domain refusals onto gRPC status codes; anything unexpected becomes INTERNAL and is logged. */
final class GrpcErrors {

    private static final System.Logger LOG = System.getLogger(GrpcErrors.class.getName());

    private GrpcErrors() {
    }

    static StatusRuntimeException toStatus(Throwable t) {
        if (t instanceof StatusRuntimeException s) {
            return s;
        }
        if (t instanceof RegistryException e) {
            return status(e).withDescription(e.getMessage()).asRuntimeException();
        }
        LOG.log(System.Logger.Level.ERROR, "registry call failed", t);
        return Status.INTERNAL.withDescription("registry error: " + t.getMessage()).asRuntimeException();
    }

    static Status status(RegistryException e) {
        return switch (e.kind()) {
            case INVALID_ARGUMENT -> Status.INVALID_ARGUMENT;
            case NOT_FOUND -> Status.NOT_FOUND;
            case FAILED_PRECONDITION -> Status.FAILED_PRECONDITION;
            case ALREADY_EXISTS -> Status.ALREADY_EXISTS;
            case ABORTED -> Status.ABORTED;
            case UNAUTHENTICATED -> Status.UNAUTHENTICATED;
            case PERMISSION_DENIED -> Status.PERMISSION_DENIED;
        };
    }
}
