package io.maas.router.adapters;

import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import io.maas.proto.registry.ReportTrafficRequest;
import io.maas.proto.registry.ShadowTraffic;
import io.maas.proto.registry.VersionTraffic;
import io.maas.router.domain.TrafficTally;
import io.quarkus.runtime.StartupEvent;

/**
 * Reports what this router served (per model version: calls, server faults, latency bins; shadow
 * comparisons) to the registry every {@code maas.registry.report-interval-ms}, with the router's
 * writer token, over the watch's channel. The registry sums every router's reports into its
 * rollouts' windows. A report the registry did not take (down, restarting) is kept and sent with
 * the next, so a registry restart loses no evidence; a router restart loses at most one interval.
 */
@ApplicationScoped
public class TrafficReporter {

    private static final System.Logger LOG = System.getLogger(TrafficReporter.class.getName());

    @Inject
    RouterConfig config;
    @Inject
    RegistryWatcher registry;
    @Inject
    TrafficTally tally;

    private ScheduledExecutorService timer;
    private String name;
    private volatile boolean failing;

    void start(@Observes StartupEvent event) {
        long interval = config.registry().reportIntervalMs();
        if (config.registry().address().filter(a -> !a.isBlank()).isEmpty() || interval <= 0) {
            return;
        }
        name = config.routerName().filter(n -> !n.isBlank())
                .or(() -> Optional.ofNullable(System.getenv("HOSTNAME")).filter(h -> !h.isBlank()))
                .orElse("router-" + ProcessHandle.current().pid());
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "registry-traffic-report");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(this::report, interval, interval, TimeUnit.MILLISECONDS);
    }

    @PreDestroy
    void stop() {
        if (timer != null) {
            timer.shutdown();
            report(); // the last interval's calls
            timer.shutdownNow();
        }
    }

    void report() {
        var stub = registry.writer();
        if (stub == null) {
            return;
        }
        var report = tally.drain();
        if (report.isEmpty()) {
            return;
        }
        var request = ReportTrafficRequest.newBuilder().setRouter(name);
        for (var v : report.versions()) {
            request.addVersions(VersionTraffic.newBuilder().setModel(v.key().model()).setVersion(v.key().version())
                    .setCalls(v.calls()).setServerFaults(v.serverFaults()).putAllLatencyBins(v.latencyBins()));
        }
        for (var s : report.shadows()) {
            request.addShadows(ShadowTraffic.newBuilder().setModel(s.model()).setVersion(s.version()).setShadowVersion(s.shadowVersion())
                    .setCompared(s.compared()).setCosineSum(s.cosineSum()).setCosineMin(s.cosineMin()).setMaxAbsDiff(s.maxAbsDiff()));
        }
        try {
            stub.withDeadlineAfter(5, TimeUnit.SECONDS).reportTraffic(request.build());
            if (failing) {
                failing = false;
                LOG.log(System.Logger.Level.INFO, "traffic reports reach the registry again");
            }
        } catch (RuntimeException e) {
            tally.restore(report);
            if (!failing) {
                failing = true;
                LOG.log(System.Logger.Level.WARNING, "traffic report not taken by the registry, kept for the next one: {0}",
                        RegistryWatcher.describe(e, false));
            }
        }
    }
}
