package io.maas.registry.domain;

import java.util.List;

/** A declared rollout: the steps the candidate goes through and the gates each step must pass. */
public record RolloutPlan(List<RolloutStep> steps, RolloutGates gates) {
    public RolloutPlan {
        steps = List.copyOf(steps);
    }

    /** The weight the rollout holds at step {@code index}: a pause keeps the one before it. */
    public int weightAt(int index) {
        for (int i = index; i >= 0; i--) {
            var s = steps.get(i);
            if (!s.pause() || s.weight() > 0) {
                return s.weight();
            }
        }
        return 0;
    }

    /** Canonical text of the plan, for the declaration's content hash. */
    public String canonical() {
        var s = new StringBuilder("rollout");
        steps.forEach(step -> s.append('|').append(step.weight()).append(',').append(step.holdSeconds()).append(',').append(step.pause()));
        s.append('|').append(gates);
        return s.toString();
    }
}
