package io.maas.registry.domain;

/**
 * One step of a rollout: the canary weight and how long it is held at least. A pause step keeps
 * the previous step's weight and waits for a person's resume.
 */
public record RolloutStep(int weight, long holdSeconds, boolean pause) {

    public String describe() {
        return pause ? "pause at " + weight + "%" : weight + "% for " + holdSeconds + "s";
    }
}
