package io.maas.router.domain;

/**
 * When the canary guard aborts a canary.
 *
 * @param maxErrorRateDelta canary server-fault rate minus stable's beyond which it aborts (0-1)
 * @param maxP99Ms          canary p99 latency beyond which it aborts; 0 disables
 * @param windowSeconds     sliding window of the comparison
 * @param minRequests       canary calls in the window before any verdict
 * @param autoAbort         false only reports
 * @param writesToRegistry  whether an abort is written to the registry (false without one)
 * @param fallbackToStable  whether a call the weighted split sent to the canary, and that the canary
 *                          failed through a server fault, is answered by stable instead (the canary's
 *                          failure still counts as its evidence)
 */
public record CanaryPolicy(double maxErrorRateDelta, double maxP99Ms, int windowSeconds, int minRequests,
                           boolean autoAbort, boolean writesToRegistry, boolean fallbackToStable) {
}
