package io.maas.registry.domain;

/**
 * A model's rollout as the registry holds it (in its store, so a restart resumes it): the
 * candidate going through the plan's steps, where it stands, and the current step's evidence.
 *
 * @param routingRevision the model's routing revision the rollout last wrote or accepted; -1 until
 *                        its first routing is in place. A different revision means someone else
 *                        changed the routing, which ends the rollout (a person's change wins)
 * @param settled         false while an ended rollout's final routing is still to be written
 */
public record Rollout(String model, String stable, String candidate, RolloutPlan plan, RolloutState state, int step,
                      long startedAtMs, long stepStartedAtMs, long routingRevision, TrafficWindow stableWindow,
                      TrafficWindow canaryWindow, ShadowWindow shadowWindow, String note, String declaredBy,
                      String declarationHash, boolean settled, long updatedAtMs) {

    public RolloutStep currentStep() {
        return plan.steps().get(step);
    }

    /** The canary weight this rollout wants in force now. */
    public int weight() {
        return switch (state) {
            case RUNNING, PAUSED -> plan.weightAt(step);
            case PROMOTED, ABORTED -> 0;
        };
    }

    /** The routing this rollout wants in force now. */
    public RoutingSpec desiredRouting() {
        return state == RolloutState.PROMOTED ? new RoutingSpec(model, candidate, "", 0)
                : new RoutingSpec(model, stable, candidate, weight());
    }

    public Rollout withState(RolloutState s, String why, long now) {
        return new Rollout(model, stable, candidate, plan, s, step, startedAtMs, stepStartedAtMs, routingRevision, stableWindow,
                canaryWindow, shadowWindow, why, declaredBy, declarationHash, false, now);
    }

    /** Enters step {@code index} with an empty window. */
    public Rollout atStep(int index, RolloutState s, String why, long now) {
        return new Rollout(model, stable, candidate, plan, s, index, startedAtMs, now, routingRevision, TrafficWindow.EMPTY,
                TrafficWindow.EMPTY, ShadowWindow.EMPTY, why, declaredBy, declarationHash, settled, now);
    }

    public Rollout withNote(String why, long now) {
        return new Rollout(model, stable, candidate, plan, state, step, startedAtMs, stepStartedAtMs, routingRevision, stableWindow,
                canaryWindow, shadowWindow, why, declaredBy, declarationHash, settled, now);
    }

    public Rollout withRoutingRevision(long revision) {
        return new Rollout(model, stable, candidate, plan, state, step, startedAtMs, stepStartedAtMs, revision, stableWindow,
                canaryWindow, shadowWindow, note, declaredBy, declarationHash, settled, updatedAtMs);
    }

    public Rollout settledNow() {
        return new Rollout(model, stable, candidate, plan, state, step, startedAtMs, stepStartedAtMs, routingRevision, stableWindow,
                canaryWindow, shadowWindow, note, declaredBy, declarationHash, true, updatedAtMs);
    }

    public Rollout withEvidence(TrafficWindow stableAdd, TrafficWindow canaryAdd, ShadowWindow shadowAdd) {
        return new Rollout(model, stable, candidate, plan, state, step, startedAtMs, stepStartedAtMs, routingRevision,
                stableWindow.plus(stableAdd), canaryWindow.plus(canaryAdd), shadowWindow.plus(shadowAdd), note, declaredBy,
                declarationHash, settled, updatedAtMs);
    }

    /** The step's evidence in words, for the audit log and status. */
    public String evidence() {
        var s = String.format(java.util.Locale.ROOT,
                "canary %s: %d calls, %d server faults (%.2f%%), p99 %.1f ms; stable %s: %d calls, %d server faults (%.2f%%), p99 %.1f ms",
                candidate, canaryWindow.calls(), canaryWindow.serverFaults(), 100 * canaryWindow.errorRate(), canaryWindow.p99Ms(),
                stable, stableWindow.calls(), stableWindow.serverFaults(), 100 * stableWindow.errorRate(), stableWindow.p99Ms());
        if (shadowWindow.compared() > 0) {
            s += String.format(java.util.Locale.ROOT, "; shadow: %d compared, mean cosine %.6f (min %.6f), max abs diff %.5g",
                    shadowWindow.compared(), shadowWindow.meanCosine(), shadowWindow.cosineMin(), shadowWindow.maxAbsDiff());
        }
        return s;
    }
}
