package io.maas.router.domain;

/**
 * How calls are spread and failures handled.
 *
 * @param ejectAfterFailures consecutive pod failures ({@link Fault#ejects}) that eject it
 * @param ejectBaseMs        first ejection; doubles with each repeat, up to {@code ejectMaxMs}
 * @param rampMs             after an ejection ends, the pod's share ramps back over this time
 * @param maxEjectedPercent  never more than this share of a version's pods ejected at once (the
 *                           last pod never): when every pod fails alike, the cause is not the pods
 * @param maxAttempts        attempts per call, counting the first
 * @param defaultTimeoutMs   deadline of calls whose caller set none (0: none)
 */
public record BalancerPolicy(int ejectAfterFailures, long ejectBaseMs, long ejectMaxMs, long rampMs,
                             int maxEjectedPercent, int maxAttempts, long defaultTimeoutMs) {
}
