package io.maas.registry.domain;

/** Told of every rollout transition after it is saved (e.g. to show it in Kubernetes). */
public interface RolloutEvents {

    /** @param action RolloutStarted, RolloutAdvanced, RolloutPaused, RolloutResumed, RolloutPromoted or RolloutAborted */
    void transition(Rollout rollout, String action, String reason);
}
