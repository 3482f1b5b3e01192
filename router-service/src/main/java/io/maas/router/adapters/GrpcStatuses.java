package io.maas.router.adapters;

import io.grpc.Metadata;
import io.maas.router.domain.Forwarding;

import io.grpc.Status;
import io.maas.router.domain.Outcome;
import io.maas.router.domain.StatusCode;

/** Translates between gRPC's Status and the pipeline's {@link Outcome}. */
public final class GrpcStatuses {

    private GrpcStatuses() {
    }

    /**
     * A pod's answer. An UNAVAILABLE that arrived before any response header is a call the pod
     * never ran (connection refused or reset, pod shutting down), so it may go to another pod.
     */
    public static Outcome outcome(Status status, boolean responded) {
        StatusCode code = StatusCode.of(status.getCode().value());
        String message = status.getDescription() == null ? "" : status.getDescription();
        return new Outcome(code, message, code == StatusCode.UNAVAILABLE && !responded);
    }

    /** gRPC's retry pushback (A6): how long the client should wait before retrying a throttled call. */
    public static final Metadata.Key<String> RETRY_PUSHBACK = Metadata.Key.of("grpc-retry-pushback-ms", Metadata.ASCII_STRING_MARSHALLER);

    /** Trailers of a call the pipeline refused: the retry hint of a quota refusal. */
    public static Metadata trailers(Forwarding.Refused refused) {
        Metadata t = new Metadata();
        if (refused.retryAfterMillis() > 0) {
            t.put(RETRY_PUSHBACK, Long.toString(refused.retryAfterMillis()));
        }
        return t;
    }

    public static Status status(Outcome outcome) {
        Status s = Status.fromCodeValue(outcome.code().ordinal());
        return outcome.message().isEmpty() ? s : s.withDescription(outcome.message());
    }
}
