package io.maas.router.domain;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Compares each canary with its stable version over a sliding window, once a second. When the
 * canary's error rate exceeds the stable's by more than the margin, or its p99 latency exceeds the
 * limit, it aborts: the router stops sending to the canary at once (locally, until the registry
 * publishes a newer revision of the model) and writes canary weight 0 with the reason to the
 * registry, which every other router then receives through its watch stream.
 * Its evidence is server faults only ({@link Fault}): the pipeline leaves a caller's mistakes out
 * of the window, so garbage sent to the canary never aborts it.
 */
public final class CanaryGuard {

    private static final System.Logger LOG = System.getLogger(CanaryGuard.class.getName());

    private final CanaryPolicy policy;
    private final RoutingTable table;
    private final RoutingWriter registry;
    private final CanaryEvents metrics;

    private final Map<ModelKey, VersionStats> stats = new ConcurrentHashMap<>();
    private final Map<String, Long> lastAttempt = new ConcurrentHashMap<>();
    private ScheduledExecutorService scheduler;

    private final TrafficTally tally;

    public CanaryGuard(CanaryPolicy policy, RoutingTable table, RoutingWriter registry, CanaryEvents metrics) {
        this(policy, table, registry, metrics, new TrafficTally());
    }

    /** @param tally also gets every call's evidence, for the registry's rollouts */
    public CanaryGuard(CanaryPolicy policy, RoutingTable table, RoutingWriter registry, CanaryEvents metrics, TrafficTally tally) {
        this.tally = tally;
        this.policy = policy;
        this.table = table;
        this.registry = registry;
        this.metrics = metrics;
    }

    /** One call's evidence: whether it failed through the server's fault, and how long it took. */
    public void record(ModelKey key, boolean serverFault, long nanos) {
        stats.computeIfAbsent(key, k -> new VersionStats(policy.windowSeconds()))
                .record(System.currentTimeMillis() / 1000, !serverFault, nanos / 1000);
        tally.record(key, serverFault, nanos);
    }

    /** Whether a canary's server fault on a call the split sent it is answered by stable ({@link CanaryPolicy#fallbackToStable}). */
    public boolean fallsBackToStable() {
        return policy.fallbackToStable();
    }

    public VersionStats.Snapshot snapshot(ModelKey key) {
        VersionStats s = stats.get(key);
        return s == null ? new VersionStats.Snapshot(0, 0, 0) : s.snapshot(System.currentTimeMillis() / 1000);
    }

    public void start() {
        scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "canary-guard");
            t.setDaemon(true);
            return t;
        });
        scheduler.scheduleWithFixedDelay(this::check, 1, 1, TimeUnit.SECONDS);
    }

    public void stop() {
        if (scheduler != null) {
            scheduler.shutdownNow();
        }
    }

    void check() {
        try {
            for (String model : table.routes().keySet()) {
                Route route = table.route(model);
                if (route != null && route.hasCanary()) {
                    check(route);
                }
            }
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "canary check failed", e);
        }
    }

    private void check(Route route) {
        var canary = snapshot(new ModelKey(route.model(), route.canary()));
        if (canary.total() < policy.minRequests()) {
            return;
        }
        var stable = snapshot(new ModelKey(route.model(), route.stable()));
        String reason = null;
        String kind = null;
        double delta = canary.errorRate() - stable.errorRate();
        if (delta > policy.maxErrorRateDelta()) {
            kind = "error_rate";
            reason = String.format("router auto-abort: canary %s error rate %.1f%% (%d/%d) exceeds stable %s %.1f%% by more than %.1f points over %d s",
                    route.canary(), 100 * canary.errorRate(), canary.errors(), canary.total(), route.stable(),
                    100 * stable.errorRate(), 100 * policy.maxErrorRateDelta(), policy.windowSeconds());
        } else if (policy.maxP99Ms() > 0 && canary.p99Ms() > policy.maxP99Ms()) {
            kind = "p99";
            reason = String.format("router auto-abort: canary %s p99 %.1f ms exceeds the %.1f ms limit over %d s (%d calls)",
                    route.canary(), canary.p99Ms(), policy.maxP99Ms(), policy.windowSeconds(), canary.total());
        }
        if (reason == null) {
            return;
        }
        LOG.log(System.Logger.Level.WARNING, "{0}: model {1} revision {2}{3}", reason, route.model(), route.revision(),
                policy.autoAbort() ? "; aborting" : "; auto-abort disabled, reporting only");
        if (!policy.autoAbort()) {
            return;
        }
        Long last = lastAttempt.get(route.model());
        long now = System.nanoTime();
        if (last == null || now - last > 5_000_000_000L) {
            metrics.canaryAbort(route.model(), route.canary(), kind);
        }
        table.holdCanaryAtZero(route);
        if (last != null && now - last < 5_000_000_000L) {
            return;
        }
        lastAttempt.put(route.model(), now);
        if (!policy.writesToRegistry()) {
            return;
        }
        try {
            long revision = registry.abortCanary(route, reason);
            LOG.log(System.Logger.Level.WARNING, "canary of {0} aborted in the registry at revision {1}",
                    route.model(), String.valueOf(revision));
            stats.remove(new ModelKey(route.model(), route.canary()));
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "canary abort of {0} could not be written to the registry: {1}; "
                    + "this router keeps the canary at weight 0 and retries", route.model(), e.getMessage());
        }
    }
}
