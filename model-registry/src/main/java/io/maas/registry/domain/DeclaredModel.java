package io.maas.registry.domain;

/** One model of the declared routing document: its split and, optionally, a rollout of the canary. */
public record DeclaredModel(RoutingSpec routing, RolloutPlan rollout) {

    public static DeclaredModel of(RoutingSpec routing) {
        return new DeclaredModel(routing, null);
    }

    public boolean hasRollout() {
        return rollout != null;
    }
}
