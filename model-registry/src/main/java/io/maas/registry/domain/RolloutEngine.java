package io.maas.registry.domain;

import java.util.Locale;

/**
 * The rollout's judgement, a pure function of its state, its step's evidence and the time: abort
 * as soon as a gate breaks (once enough calls are in), otherwise hold until the step's minimum
 * hold has passed with enough evidence, then advance (or promote after the last step).
 */
public final class RolloutEngine {

    public enum Kind { HOLD, ADVANCE, PROMOTE, ABORT }

    /** @param gate the gate that broke (ABORT only): error_rate, p99, p99_vs_stable, shadow_cosine, shadow_max_abs_diff */
    public record Verdict(Kind kind, String gate, String message) {
    }

    private RolloutEngine() {
    }

    public static Verdict judge(Rollout r, long nowMs) {
        var g = r.plan().gates();
        var canary = r.canaryWindow();
        var stable = r.stableWindow();
        var shadow = r.shadowWindow();
        if (canary.calls() >= g.minCalls() && canary.calls() > 0) {
            double delta = canary.errorRate() - stable.errorRate();
            if (g.maxErrorRateDelta() != null && delta > g.maxErrorRateDelta()) {
                return abort("error_rate", String.format(Locale.ROOT,
                        "canary error rate %.2f%% exceeds stable's %.2f%% by %.2f points (gate: at most %.2f)",
                        100 * canary.errorRate(), 100 * stable.errorRate(), 100 * delta, 100 * g.maxErrorRateDelta()));
            }
            if (g.maxP99Ms() != null && canary.p99Ms() > g.maxP99Ms()) {
                return abort("p99", String.format(Locale.ROOT, "canary p99 %.1f ms exceeds the %.1f ms limit",
                        canary.p99Ms(), g.maxP99Ms()));
            }
            if (g.maxP99Ratio() != null && stable.calls() >= Math.max(1, g.minCalls())
                    && canary.p99Ms() > g.maxP99Ratio() * stable.p99Ms()) {
                return abort("p99_vs_stable", String.format(Locale.ROOT, "canary p99 %.1f ms exceeds %.2f x stable's %.1f ms",
                        canary.p99Ms(), g.maxP99Ratio(), stable.p99Ms()));
            }
        }
        if (g.shadowGate() && shadow.compared() > 0 && shadow.compared() >= g.minShadowCompared()) {
            if (g.minCosine() != null && shadow.meanCosine() < g.minCosine()) {
                return abort("shadow_cosine", String.format(Locale.ROOT, "shadow mean cosine %.6f is below %.6f",
                        shadow.meanCosine(), g.minCosine()));
            }
            if (g.maxAbsDiff() != null && shadow.maxAbsDiff() > g.maxAbsDiff()) {
                return abort("shadow_max_abs_diff", String.format(Locale.ROOT, "shadow max abs diff %.5g exceeds %.5g",
                        shadow.maxAbsDiff(), g.maxAbsDiff()));
            }
        }
        var step = r.currentStep();
        String at = "step " + (r.step() + 1) + "/" + r.plan().steps().size() + " (" + step.describe() + ")";
        if (r.state() == RolloutState.PAUSED) {
            return hold(at + ": paused (" + r.note() + "); resume with maasctl rollout resume " + r.model());
        }
        long heldMs = nowMs - r.stepStartedAtMs();
        if (heldMs < step.holdSeconds() * 1000) {
            return hold(String.format(Locale.ROOT, "%s: held %d of %d s", at, heldMs / 1000, step.holdSeconds()));
        }
        if (canary.calls() < Math.max(1, g.minCalls())) {
            return hold(at + ": not enough traffic to judge: " + canary.calls() + " of " + Math.max(1, g.minCalls())
                    + " canary calls in this step; holding");
        }
        if (g.shadowGate() && shadow.compared() < g.minShadowCompared()) {
            return hold(at + ": waiting for shadow comparisons: " + shadow.compared() + " of " + g.minShadowCompared()
                    + " (is shadow traffic on for the canary? MAAS_SHADOW=" + r.model() + ":canary=<share>)");
        }
        boolean last = r.step() == r.plan().steps().size() - 1;
        return new Verdict(last ? Kind.PROMOTE : Kind.ADVANCE, "", at + " passed every gate");
    }

    private static Verdict abort(String gate, String message) {
        return new Verdict(Kind.ABORT, gate, "gate " + gate + " broken: " + message);
    }

    private static Verdict hold(String message) {
        return new Verdict(Kind.HOLD, "", message);
    }
}
