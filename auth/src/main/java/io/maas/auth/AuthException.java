package io.maas.auth;

/**
 * A call refused by authentication, authorization or a quota. The transports map {@link Kind} to
 * their status (gRPC code, HTTP 401/403/429); {@link #reason} is a short fixed word for metrics
 * and the audit line, the message is what the caller reads. Messages never contain a credential.
 */
public final class AuthException extends RuntimeException {

    public enum Kind { UNAUTHENTICATED, PERMISSION_DENIED, RESOURCE_EXHAUSTED }

    private final Kind kind;
    private final String reason;
    private final long retryAfterMillis;

    public AuthException(Kind kind, String reason, String message) {
        this(kind, reason, message, 0);
    }

    public AuthException(Kind kind, String reason, String message, long retryAfterMillis) {
        super(message, null, false, false);
        this.kind = kind;
        this.reason = reason;
        this.retryAfterMillis = retryAfterMillis;
    }

    public Kind kind() {
        return kind;
    }

    /** A fixed word (metric label, audit field): missing-credentials, bad-key, expired, quota-rate, ... */
    public String reason() {
        return reason;
    }

    /** For RESOURCE_EXHAUSTED: when a retry may succeed; 0 otherwise. */
    public long retryAfterMillis() {
        return retryAfterMillis;
    }
}
