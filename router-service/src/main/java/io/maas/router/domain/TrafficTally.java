package io.maas.router.domain;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * What this router served per model version (calls, server faults, latency bins) and how shadow
 * outputs compared, since the last report to the registry, which runs rollouts on the sum of
 * every router's reports. Lock-free on the call path: a drain takes each counter with
 * getAndSet, so every call is counted in exactly one report; a report the registry did not take
 * is put back.
 */
public final class TrafficTally {

    /** Latency bins as {@link VersionStats} (bin b: at most 1.12^b µs), the scheme the registry reads. */
    static final int BINS = 160;

    public record VersionCounts(ModelKey key, long calls, long serverFaults, Map<Integer, Long> latencyBins) {
    }

    public record ShadowCounts(String model, String version, String shadowVersion, long compared, double cosineSum,
                               double cosineMin, double maxAbsDiff) {
    }

    public record Report(List<VersionCounts> versions, List<ShadowCounts> shadows) {
        public boolean isEmpty() {
            return versions.isEmpty() && shadows.isEmpty();
        }
    }

    private static final class Counts {
        final AtomicLong calls = new AtomicLong();
        final AtomicLong faults = new AtomicLong();
        final AtomicLongArray bins = new AtomicLongArray(BINS);
    }

    private record ShadowKey(String model, String version, String shadowVersion) {
    }

    private static final class Agreement {
        long compared;
        double cosineSum;
        double cosineMin = 1;
        double maxAbsDiff;
    }

    private final Map<ModelKey, Counts> versions = new ConcurrentHashMap<>();
    private final Map<ShadowKey, Agreement> shadows = new ConcurrentHashMap<>();

    /** One call judged by the pipeline (a caller's mistakes never reach here). */
    public void record(ModelKey key, boolean serverFault, long nanos) {
        var c = versions.computeIfAbsent(key, k -> new Counts());
        c.calls.incrementAndGet();
        if (serverFault) {
            c.faults.incrementAndGet();
        }
        c.bins.incrementAndGet(VersionStats.bin(nanos / 1000));
    }

    /** One output compared between a primary and its shadow. */
    public void shadow(String model, String version, String shadowVersion, double maxAbsDiff, double cosine) {
        var a = shadows.computeIfAbsent(new ShadowKey(model, version, shadowVersion), k -> new Agreement());
        synchronized (a) {
            a.compared++;
            a.cosineSum += cosine;
            a.cosineMin = Math.min(a.cosineMin, cosine);
            a.maxAbsDiff = Math.max(a.maxAbsDiff, maxAbsDiff);
        }
    }

    /** Takes everything counted since the last drain. */
    public Report drain() {
        List<VersionCounts> vs = new ArrayList<>();
        versions.forEach((key, c) -> {
            long calls = c.calls.getAndSet(0);
            long faults = c.faults.getAndSet(0);
            Map<Integer, Long> bins = new java.util.TreeMap<>();
            for (int b = 0; b < BINS; b++) {
                long n = c.bins.getAndSet(b, 0);
                if (n > 0) {
                    bins.put(b, n);
                }
            }
            if (calls > 0 || !bins.isEmpty()) {
                vs.add(new VersionCounts(key, calls, faults, bins));
            }
        });
        List<ShadowCounts> ss = new ArrayList<>();
        shadows.forEach((key, a) -> {
            synchronized (a) {
                if (a.compared > 0) {
                    ss.add(new ShadowCounts(key.model(), key.version(), key.shadowVersion(), a.compared, a.cosineSum, a.cosineMin,
                            a.maxAbsDiff));
                    a.compared = 0;
                    a.cosineSum = 0;
                    a.cosineMin = 1;
                    a.maxAbsDiff = 0;
                }
            }
        });
        return new Report(vs, ss);
    }

    /** Puts back a drained report the registry did not take, to go with the next one. */
    public void restore(Report report) {
        for (var v : report.versions()) {
            var c = versions.computeIfAbsent(v.key(), k -> new Counts());
            c.calls.addAndGet(v.calls());
            c.faults.addAndGet(v.serverFaults());
            v.latencyBins().forEach((b, n) -> c.bins.addAndGet(b, n));
        }
        for (var s : report.shadows()) {
            var a = shadows.computeIfAbsent(new ShadowKey(s.model(), s.version(), s.shadowVersion()), k -> new Agreement());
            synchronized (a) {
                a.compared += s.compared();
                a.cosineSum += s.cosineSum();
                a.cosineMin = Math.min(a.cosineMin, s.cosineMin());
                a.maxAbsDiff = Math.max(a.maxAbsDiff, s.maxAbsDiff());
            }
        }
    }
}
