package io.maas.inference.adapters.metrics;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import io.maas.inference.domain.InferenceException;
import io.maas.inference.domain.InferenceMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * Prometheus metrics per model and version: maas_inference_requests_total,
 * maas_inference_failures_total{status}, maas_inference_queue_seconds, maas_inference_compute_seconds,
 * maas_inference_batch_size, maas_inference_batch_splits_total and, for the steps that run on the caller's
 * thread, maas_inference_step_cpu_seconds. Meters are looked up once per model version, not per request.
 */
public final class MicrometerInferenceMetrics implements InferenceMetrics {
    private final MeterRegistry registry;
    private final Map<String, Meters> meters = new ConcurrentHashMap<>();
    private final Map<String, Timer> stepCpu = new ConcurrentHashMap<>();

    private record Meters(Counter requests, Timer queue, Timer compute, DistributionSummary batch, Counter splits) {
    }

    public MicrometerInferenceMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    @Override
    public void succeeded(String model, String version, long queueNanos, long computeNanos) {
        Meters m = meters(model, version);
        m.requests().increment();
        m.queue().record(queueNanos, TimeUnit.NANOSECONDS);
        m.compute().record(computeNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void failed(String model, String version, InferenceException.Kind kind) {
        meters(model, version).requests().increment();
        Counter.builder("maas.inference.failures").description("Failed inference requests by gRPC status")
                .tags("model", model, "version", version, "status", kind.name())
                .register(registry).increment();
    }

    @Override
    public void batchRan(String model, String version, int requests, long rows) {
        meters(model, version).batch().record(requests);
    }

    @Override
    public void stepCpu(String model, String version, long cpuNanos) {
        stepCpu.computeIfAbsent(model + '\0' + version, k -> Timer.builder("maas.inference.step.cpu")
                .description("CPU time of a step run on the caller's thread, per call")
                .tags("model", model, "version", version).register(registry))
                .record(cpuNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void batchSplit(String model, String version) {
        meters(model, version).splits().increment();
    }

    private Meters meters(String model, String version) {
        return meters.computeIfAbsent(model + '\0' + version, k -> new Meters(
                Counter.builder("maas.inference.requests").description("Inference requests, successful or not")
                        .tags("model", model, "version", version).register(registry),
                Timer.builder("maas.inference.queue").description("Time from arrival to the start of the run")
                        .tags("model", model, "version", version).publishPercentileHistogram()
                        .minimumExpectedValue(Duration.ofNanos(10_000)).maximumExpectedValue(Duration.ofSeconds(10))
                        .register(registry),
                Timer.builder("maas.inference.compute").description("Model run time per batch")
                        .tags("model", model, "version", version).publishPercentileHistogram()
                        .minimumExpectedValue(Duration.ofNanos(10_000)).maximumExpectedValue(Duration.ofSeconds(10))
                        .register(registry),
                DistributionSummary.builder("maas.inference.batch.size").description("Requests joined per run")
                        .tags("model", model, "version", version)
                        .serviceLevelObjectives(1, 2, 4, 8, 16, 32, 64, 128).register(registry),
                Counter.builder("maas.inference.batch.splits")
                        .description("Joined batches split in two and re-run because a caller's input failed the run")
                        .tags("model", model, "version", version).register(registry)));
    }
}
