package io.maas.router.domain;

/**
 * How one attempt or one whole call ended.
 *
 * @param code        the status
 * @param message     what the caller reads (the pod's own description, or the router's)
 * @param unprocessed true when the pod certainly did not run the call (connection refused, stream
 *                    reset before any response): only such a call may be tried on another pod
 */
public record Outcome(StatusCode code, String message, boolean unprocessed) {

    public static final Outcome OK = new Outcome(StatusCode.OK, "", false);

    public static Outcome of(StatusCode code, String message) {
        return new Outcome(code, message == null ? "" : message, false);
    }

    public boolean ok() {
        return code == StatusCode.OK;
    }
}
