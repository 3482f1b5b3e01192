package io.maas.inference.api;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Instance;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

import grpc.health.v1.HealthOuterClass.HealthCheckResponse.ServingStatus;
import io.maas.auth.RequestBudget;
import io.maas.inference.adapters.config.PbtxtModelConfigReader;
import io.maas.inference.adapters.metrics.MicrometerInferenceMetrics;
import io.maas.inference.adapters.onnx.OnnxModelLoader;
import io.maas.inference.adapters.steps.Steps;
import io.maas.inference.adapters.tracing.OtelInferenceTracing;
import io.maas.inference.domain.Device;
import io.maas.inference.domain.InferenceEngine;
import io.maas.inference.domain.InferenceMetrics;
import io.maas.inference.domain.InferenceTracing;
import io.maas.inference.domain.ModelRepository;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.api.OpenTelemetry;
import io.quarkus.grpc.runtime.health.GrpcHealthStorage;
import io.quarkus.runtime.StartupEvent;

/** Wires the domain to its adapters from configuration, and loads the repository at start. */
@ApplicationScoped
public class InferenceBeans {
    private static final Logger LOG = Logger.getLogger(InferenceBeans.class);

    private volatile boolean ready;

    @Produces
    @Singleton
    InferenceMetrics metrics(MeterRegistry registry) {
        return new MicrometerInferenceMetrics(registry);
    }

    /** With the SDK disabled (the default) the scheduler gets the no-op port: no span lookup per request. */
    @Produces
    @Singleton
    InferenceTracing tracing(@ConfigProperty(name = "quarkus.otel.sdk.disabled") boolean disabled,
                             OpenTelemetry openTelemetry) {
        return disabled ? InferenceTracing.NONE : new OtelInferenceTracing(openTelemetry);
    }

    /** The pod's request byte budget, shared by the gRPC server and the REST twin; its gauge. */
    @Produces
    @Singleton
    RequestBudget requestBudget(@ConfigProperty(name = "maas.max-request-bytes-in-flight") long limit,
                                MeterRegistry registry) {
        RequestBudget budget = new RequestBudget(limit);
        Gauge.builder("maas.inference.requests.held", budget, RequestBudget::held)
                .description("Bytes of requests being read, queued or run, beyond each request's first 64 KiB")
                .baseUnit("bytes").register(registry);
        return budget;
    }

    /** Counts the calls the request byte budget refused (gRPC and REST alike). */
    static Counter overBudget(MeterRegistry registry) {
        return Counter.builder("maas.inference.requests.over.budget")
                .description("Calls refused with RESOURCE_EXHAUSTED (HTTP 429) because their bytes would pass "
                        + "MAAS_MAX_REQUEST_BYTES_IN_FLIGHT").register(registry);
    }

    @Produces
    @Singleton
    PbtxtModelConfigReader configReader(@ConfigProperty(name = "maas.default-max-queue-size") int queueSize) {
        return new PbtxtModelConfigReader(queueSize);
    }

    @Produces
    @Singleton
    ModelRepository repository(@ConfigProperty(name = "maas.model-repository") Optional<String> root,
                               @ConfigProperty(name = "maas.device") String device,
                               @ConfigProperty(name = "maas.onnx.intra-op-threads") int threads,
                               @ConfigProperty(name = "maas.onnx.cpu-arena") boolean cpuArena,
                               PbtxtModelConfigReader configReader, InferenceMetrics metrics,
                               InferenceTracing tracing) {
        Path dir = Path.of(root.orElseThrow(() -> new IllegalStateException(
                "no model repository: pass --model-repository DIR or set MAAS_MODEL_REPOSITORY")));
        Device parsed;
        try {
            parsed = Device.valueOf(device.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("MAAS_DEVICE/maas.device is '" + device + "'; use cpu or cuda");
        }
        return new ModelRepository(dir, new Steps(new OnnxModelLoader(parsed, threads, cpuArena)), configReader, metrics,
                tracing);
    }

    void closeRepository(@Disposes ModelRepository repository) {
        repository.close();
    }

    @Produces
    @Singleton
    InferenceEngine engine(ModelRepository repository, InferenceMetrics metrics) {
        return new InferenceEngine(repository, metrics);
    }

    void onStart(@Observes StartupEvent event, ModelRepository repository, Instance<GrpcHealthStorage> health) {
        health.stream().forEach(h -> h.setStatus(GrpcHealthStorage.DEFAULT_SERVICE_NAME, ServingStatus.NOT_SERVING));
        LOG.infof("loading model repository %s", repository.root().toAbsolutePath());
        repository.loadAll();
        ready = true;
        health.stream().forEach(h -> h.setStatus(GrpcHealthStorage.DEFAULT_SERVICE_NAME, ServingStatus.SERVING));
    }

    /** Ready once the repository has been loaded; a model that failed to load does not hold this back. */
    public boolean ready() {
        return ready;
    }
}
