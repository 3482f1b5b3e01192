package io.maas.router.adapters;

import io.maas.auth.AuthException;
import io.maas.auth.FrontDoor;
import io.maas.auth.Operation;
import io.maas.auth.RequestBudget;

import io.maas.router.domain.CanaryEvents;
import io.maas.router.domain.ForwardingEvents;
import io.maas.router.domain.ModelKey;
import io.maas.router.domain.Outcome;
import io.maas.router.domain.StatusCode;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

/**
 * Prometheus metrics per model, version and track. Meters are looked up once per label set and
 * cached, so a call costs two map lookups.
 */
@ApplicationScoped
public class RouterMetrics implements CanaryEvents, ForwardingEvents, FrontDoor.Events {

    @Inject
    MeterRegistry registry;

    private record Labels(String model, String version, String track, String code) {
    }

    private record CallLabels(String method, String model, String version, String track, String code) {
    }

    private final Map<CallLabels, Counter> requests = new ConcurrentHashMap<>();
    private final Map<Labels, Timer> latency = new ConcurrentHashMap<>();
    private final Map<Labels, Counter> retries = new ConcurrentHashMap<>();
    private final Map<Labels, Counter> ejections = new ConcurrentHashMap<>();
    private final Map<Labels, Counter> aborts = new ConcurrentHashMap<>();
    private final Map<Labels, Counter> fallbacks = new ConcurrentHashMap<>();
    private final Map<Labels, Counter> shadows = new ConcurrentHashMap<>();
    private final Map<Labels, DistributionSummary> shadowDiff = new ConcurrentHashMap<>();
    private final Map<Labels, DistributionSummary> shadowCosine = new ConcurrentHashMap<>();
    private final Map<Labels, Timer> shadowLatency = new ConcurrentHashMap<>();
    private final Map<Labels, Counter> tenantCalls = new ConcurrentHashMap<>();
    private final Map<Labels, Counter> refusals = new ConcurrentHashMap<>();

    private Counter overBudget;

    /**
     * maas_router_requests_held_bytes: request bytes held against MAAS_MAX_REQUEST_BYTES_IN_FLIGHT;
     * maas_router_requests_over_budget_total counts the calls it refused. Returns {@code budget}.
     */
    public RequestBudget requestBudget(RequestBudget budget) {
        Gauge.builder("maas.router.requests.held", budget, RequestBudget::held).baseUnit("bytes")
                .description("Request bytes the router holds, beyond each request's first 64 KiB").register(registry);
        overBudget = Counter.builder("maas.router.requests.over.budget")
                .description("Calls refused with RESOURCE_EXHAUSTED because their bytes would pass "
                        + "MAAS_MAX_REQUEST_BYTES_IN_FLIGHT").register(registry);
        return budget;
    }

    public void overBudget() {
        overBudget.increment();
    }

    private Counter answersRefused;
    private Counter answersEvicted;

    /**
     * maas_router_answers_waiting_bytes: answer bytes held for callers that have not read them yet;
     * maas_router_answers_refused_total counts answers refused because their connection held its share;
     * maas_router_answer_evictions_total connections closed because they held the most when the whole was reached.
     */
    public void answersWaiting(java.util.function.Supplier<Number> waiting) {
        Gauge.builder("maas.router.answers.waiting", waiting).baseUnit("bytes")
                .description("Answer bytes the router holds for callers that have not read them").register(registry);
        answersRefused = Counter.builder("maas.router.answers.refused")
                .description("Answers refused: their connection held its share of unread answers "
                        + "(MAAS_MAX_ANSWER_BYTES_WAITING / 4)").register(registry);
        answersEvicted = Counter.builder("maas.router.answer.evictions")
                .description("Caller connections closed: they held the most unread answers when all together reached "
                        + "MAAS_MAX_ANSWER_BYTES_WAITING").register(registry);
    }

    public void answerEvicted() {
        answersEvicted.increment();
    }

    public void answerRefused() {
        answersRefused.increment();
    }

    /** maas_router_tenant_requests_total{tenant,model,code}: a tenant's forwarded calls. */
    @Override
    public void tenantCall(String tenant, String model, StatusCode status) {
        String code = status.name();
        tenantCalls.computeIfAbsent(new Labels(tenant, model, code, ""),
                l -> Counter.builder("maas.router.tenant.requests")
                        .description("Calls forwarded per tenant, by final status code")
                        .tags("tenant", tenant, "model", model, "code", code).register(registry))
                .increment();
    }

    /**
     * maas_router_tenant_refusals_total{tenant,model,code,reason}: calls the front door refused
     * (UNAUTHENTICATED, PERMISSION_DENIED, and RESOURCE_EXHAUSTED = throttled by a quota or fair share).
     */
    @Override
    public void refused(String tenant, Operation op, String model, AuthException why) {
        String t = tenant == null ? "unauthenticated" : tenant;
        String m = model == null ? "" : model;
        String code = why.kind().name();
        String reason = why.reason();
        refusals.computeIfAbsent(new Labels(t, m, code, reason),
                l -> Counter.builder("maas.router.tenant.refusals")
                        .description("Calls refused by authentication, authorization or a quota, by reason")
                        .tags("tenant", t, "model", m, "code", code, "reason", reason).register(registry))
                .increment();
    }

    /** One finished call: maas_router_requests_total{code} and maas_router_request_duration_seconds. */
    @Override
    public void call(String method, ModelKey key, String track, StatusCode status, long nanos) {
        String model = key.model();
        String version = key.version();
        String code = status.name();
        requests.computeIfAbsent(new CallLabels(method, model, version, track, code),
                l -> Counter.builder("maas.router.requests")
                        .description("Calls forwarded, by final gRPC status code (OK counts too)")
                        .tags("method", method, "model", model, "version", version, "track", track, "code", code)
                        .register(registry))
                .increment();
        latency.computeIfAbsent(new Labels(model, version, track, method),
                l -> Timer.builder("maas.router.request.duration")
                        .description("Time from the call reaching the router to its response, retries included")
                        .tags("method", method, "model", model, "version", version, "track", track)
                        .publishPercentileHistogram()
                        .minimumExpectedValue(Duration.ofNanos(50_000))
                        .maximumExpectedValue(Duration.ofSeconds(60))
                        .register(registry))
                .record(nanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void retry(ModelKey key, String track) {
        String model = key.model();
        String version = key.version();
        retries.computeIfAbsent(new Labels(model, version, track, ""),
                l -> Counter.builder("maas.router.retries")
                        .description("Calls retried on another endpoint after one that did not run them")
                        .tags("model", model, "version", version, "track", track).register(registry))
                .increment();
    }

    @Override
    public void canaryFallback(ModelKey canary, StatusCode code) {
        String model = canary.model();
        String version = canary.version();
        fallbacks.computeIfAbsent(new Labels(model, version, code.name(), ""),
                l -> Counter.builder("maas.router.canary.fallbacks")
                        .description("Calls the canary failed through a server fault, answered by stable instead")
                        .tags("model", model, "version", version, "code", code.name()).register(registry))
                .increment();
    }

    @Override
    public void ejection(ModelKey key, String endpoint, Outcome last) {
        ejections.computeIfAbsent(new Labels(key.model(), key.version(), endpoint, ""),
                l -> Counter.builder("maas.router.ejections")
                        .description("Endpoints ejected after consecutive failures")
                        .tags("model", key.model(), "version", key.version(), "endpoint", endpoint)
                        .register(registry))
                .increment();
    }

    @Override
    public void canaryAbort(String model, String version, String reason) {
        aborts.computeIfAbsent(new Labels(model, version, reason, ""),
                l -> Counter.builder("maas.router.canary.aborts")
                        .description("Automatic canary aborts (weight set to 0 through the registry)")
                        .tags("model", model, "version", version, "reason", reason).register(registry))
                .increment();
    }

    /**
     * One shadow call's outcome: maas_router_shadow_requests_total{model,version,shadow_version,result}
     * (compared, mismatched_shape, shadow_failed, primary_failed, dropped, compare_failed).
     */
    public void shadow(String model, String version, String shadowVersion, String result) {
        shadows.computeIfAbsent(new Labels(model, version, shadowVersion, result),
                l -> Counter.builder("maas.router.shadow.requests")
                        .description("Calls mirrored to a shadow version, by outcome")
                        .tags("model", model, "version", version, "shadow_version", shadowVersion, "result", result)
                        .register(registry))
                .increment();
    }

    /** One output compared between primary and shadow: maas_router_shadow_max_abs_diff and _cosine_similarity. */
    public void shadowOutput(String model, String version, String shadowVersion, String output, double maxAbsDiff,
            double cosine) {
        Labels l = new Labels(model, version, shadowVersion, output);
        shadowDiff.computeIfAbsent(l, k -> DistributionSummary.builder("maas.router.shadow.max.abs.diff")
                .description("Largest absolute difference between the primary's and the shadow's output elements")
                .tags("model", model, "version", version, "shadow_version", shadowVersion, "output", output)
                .serviceLevelObjectives(1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1, 10)
                .register(registry))
                .record(maxAbsDiff);
        shadowCosine.computeIfAbsent(l, k -> DistributionSummary.builder("maas.router.shadow.cosine.similarity")
                .description("Cosine similarity of the primary's and the shadow's output")
                .tags("model", model, "version", version, "shadow_version", shadowVersion, "output", output)
                .serviceLevelObjectives(0.5, 0.9, 0.99, 0.999, 0.9999, 0.99999, 1)
                .register(registry))
                .record(cosine);
    }

    /** A shadow call's own latency (maas_router_shadow_duration_seconds), to set beside the primary's. */
    public void shadowLatency(String model, String shadowVersion, long nanos) {
        shadowLatency.computeIfAbsent(new Labels(model, shadowVersion, "", ""),
                l -> Timer.builder("maas.router.shadow.duration")
                        .description("Time from sending a shadow call to its response")
                        .tags("model", model, "shadow_version", shadowVersion)
                        .publishPercentileHistogram()
                        .minimumExpectedValue(Duration.ofNanos(50_000))
                        .maximumExpectedValue(Duration.ofSeconds(60))
                        .register(registry))
                .record(nanos, TimeUnit.NANOSECONDS);
    }
}
