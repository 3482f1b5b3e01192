package io.maas.auth;

/**
 * A tenant's limits, overall or on one model; 0 means unlimited.
 *
 * @param requestsPerSecond sustained rate (token bucket refill)
 * @param burst             bucket size: calls allowed at once after a quiet spell (default: one second's worth)
 * @param concurrent        calls in flight at once
 */
public record Quota(double requestsPerSecond, int burst, int concurrent) {
    public static final Quota NONE = new Quota(0, 0, 0);

    public boolean limitsRate() {
        return requestsPerSecond > 0;
    }

    public int bucket() {
        return burst > 0 ? burst : (int) Math.max(1, Math.ceil(requestsPerSecond));
    }
}
