package io.maas.registry.api;

import io.maas.registry.domain.Rollout;
import io.maas.registry.domain.Rollouts;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToDoubleFunction;

/**
 * Prometheus gauges of every model's rollout, read from the live state at scrape time:
 * maas_registry_rollout_step (1-based), _weight, _state (1 running, 2 paused, 3 promoted, 4 aborted),
 * and maas_registry_rollout_gate_value{gate} for each gate's current figure.
 */
final class RolloutMetrics {

    private final MeterRegistry meters;
    private final Rollouts rollouts;
    private final Set<String> known = ConcurrentHashMap.newKeySet();

    RolloutMetrics(MeterRegistry meters, Rollouts rollouts) {
        this.meters = meters;
        this.rollouts = rollouts;
        Gauge.builder("maas_registry_rollouts", rollouts, x -> x.all().stream().filter(r -> r.state().active()).count())
                .description("Rollouts running or paused").register(meters);
        refresh();
    }

    /** Adds the gauges of models whose first rollout appeared since; called after each rollout tick. */
    void refresh() {
        for (var r : rollouts.all()) {
            if (known.add(r.model())) {
                gauges(meters, rollouts, r.model());
            }
        }
    }

    private static void gauges(MeterRegistry meters, Rollouts rollouts, String model) {
        gauge(meters, rollouts, model, "maas_registry_rollout_step", "Current step of the model's rollout (1-based)", Map.of(),
                r -> r.step() + 1);
        gauge(meters, rollouts, model, "maas_registry_rollout_weight", "Canary weight the rollout holds", Map.of(), Rollout::weight);
        gauge(meters, rollouts, model, "maas_registry_rollout_state", "1 running, 2 paused, 3 promoted, 4 aborted", Map.of(),
                r -> r.state().ordinal() + 1);
        Map<String, ToDoubleFunction<Rollout>> gates = Map.of(
                "canary_calls", r -> r.canaryWindow().calls(),
                "canary_error_rate", r -> r.canaryWindow().errorRate(),
                "stable_error_rate", r -> r.stableWindow().errorRate(),
                "canary_p99_ms", r -> r.canaryWindow().p99Ms(),
                "stable_p99_ms", r -> r.stableWindow().p99Ms(),
                "shadow_compared", r -> r.shadowWindow().compared(),
                "shadow_mean_cosine", r -> r.shadowWindow().meanCosine(),
                "shadow_max_abs_diff", r -> r.shadowWindow().maxAbsDiff());
        gates.forEach((gate, f) -> gauge(meters, rollouts, model, "maas_registry_rollout_gate_value",
                "Current step's figure of each rollout gate", Map.of("gate", gate), f));
    }

    private static void gauge(MeterRegistry meters, Rollouts rollouts, String model, String name, String help,
                              Map<String, String> tags, ToDoubleFunction<Rollout> value) {
        var b = Gauge.builder(name, rollouts, x -> x.get(model).map(value::applyAsDouble).orElse(Double.NaN))
                .description(help).tag("model", model);
        tags.forEach(b::tag);
        b.register(meters);
    }
}
