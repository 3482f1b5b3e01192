package io.maas.registry.domain;

/**
 * Analysis gates evaluated over each step's window; a null limit is not checked.
 *
 * @param minCalls          canary calls in the step's window before any verdict
 * @param maxErrorRateDelta canary server-fault rate minus stable's beyond which the rollout aborts (0-1)
 * @param maxP99Ms          canary p99 latency limit
 * @param maxP99Ratio       canary p99 at most this multiple of stable's (needs minCalls stable calls too)
 * @param minCosine         mean cosine similarity of shadow comparisons at least this
 * @param maxAbsDiff        largest absolute difference of shadow comparisons at most this
 * @param minShadowCompared shadow comparisons a step needs before it may pass (0: the shadow gate
 *                          is only checked when comparisons arrive)
 */
public record RolloutGates(long minCalls, Double maxErrorRateDelta, Double maxP99Ms, Double maxP99Ratio,
                           Double minCosine, Double maxAbsDiff, long minShadowCompared) {

    public boolean shadowGate() {
        return minCosine != null || maxAbsDiff != null;
    }

    /** The declared gates in words, e.g. for the audit log. */
    public String describe() {
        var s = new StringBuilder("min calls " + minCalls);
        if (maxErrorRateDelta != null) {
            s.append(", error rate delta <= ").append(maxErrorRateDelta);
        }
        if (maxP99Ms != null) {
            s.append(", p99 <= ").append(maxP99Ms).append(" ms");
        }
        if (maxP99Ratio != null) {
            s.append(", p99 <= ").append(maxP99Ratio).append(" x stable");
        }
        if (minCosine != null) {
            s.append(", shadow mean cosine >= ").append(minCosine);
        }
        if (maxAbsDiff != null) {
            s.append(", shadow max abs diff <= ").append(maxAbsDiff);
        }
        if (minShadowCompared > 0) {
            s.append(", min shadow comparisons ").append(minShadowCompared);
        }
        return s.toString();
    }
}
