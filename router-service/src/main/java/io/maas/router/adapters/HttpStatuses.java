package io.maas.router.adapters;

import io.maas.router.domain.StatusCode;

/** The REST twin's HTTP codes for the pipeline's status codes and back, as the inference pods use them. */
public final class HttpStatuses {

    private HttpStatuses() {
    }

    public static int http(StatusCode code) {
        return switch (code) {
            case OK -> 200;
            case INVALID_ARGUMENT, OUT_OF_RANGE -> 400;
            case UNAUTHENTICATED -> 401;
            case PERMISSION_DENIED -> 403;
            case NOT_FOUND -> 404;
            case ALREADY_EXISTS, ABORTED -> 409;
            case FAILED_PRECONDITION -> 412;
            case RESOURCE_EXHAUSTED -> 429;
            case CANCELLED -> 499;
            case UNIMPLEMENTED -> 501;
            case UNAVAILABLE -> 503;
            case DEADLINE_EXCEEDED -> 504;
            case UNKNOWN, INTERNAL, DATA_LOSS -> 500;
        };
    }

    public static StatusCode code(int http) {
        return switch (http) {
            case 200, 201, 204 -> StatusCode.OK;
            case 400, 422 -> StatusCode.INVALID_ARGUMENT;
            case 401 -> StatusCode.UNAUTHENTICATED;
            case 403 -> StatusCode.PERMISSION_DENIED;
            case 404 -> StatusCode.NOT_FOUND;
            case 409 -> StatusCode.ALREADY_EXISTS;
            case 412 -> StatusCode.FAILED_PRECONDITION;
            // too large a body is the caller's to fix; 429 is a pod out of queue room
            case 413 -> StatusCode.INVALID_ARGUMENT;
            case 429 -> StatusCode.RESOURCE_EXHAUSTED;
            case 499 -> StatusCode.CANCELLED;
            case 501 -> StatusCode.UNIMPLEMENTED;
            case 503 -> StatusCode.UNAVAILABLE;
            case 504 -> StatusCode.DEADLINE_EXCEEDED;
            default -> http < 400 ? StatusCode.OK : http < 500 ? StatusCode.FAILED_PRECONDITION : StatusCode.INTERNAL;
        };
    }
}
