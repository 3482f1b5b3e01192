package io.maas.registry.domain;

import java.util.Map;
import java.util.TreeMap;

/**
 * Calls, server faults and a latency histogram of one version over a rollout step, summed from
 * every router's reports. Bin b counts calls of at most 1.12^b microseconds (the routers' scheme),
 * so p99 is exact to one bin (12%).
 */
public record TrafficWindow(long calls, long serverFaults, Map<Integer, Long> latencyBins) {

    public static final TrafficWindow EMPTY = new TrafficWindow(0, 0, Map.of());
    private static final double BASE = 1.12;

    public TrafficWindow {
        latencyBins = Map.copyOf(latencyBins);
    }

    public TrafficWindow plus(TrafficWindow other) {
        var bins = new TreeMap<>(latencyBins);
        other.latencyBins.forEach((b, n) -> bins.merge(b, n, Long::sum));
        return new TrafficWindow(calls + other.calls, serverFaults + other.serverFaults, bins);
    }

    public double errorRate() {
        return calls == 0 ? 0 : (double) serverFaults / calls;
    }

    public double p99Ms() {
        long total = latencyBins.values().stream().mapToLong(Long::longValue).sum();
        if (total == 0) {
            return 0;
        }
        long rank = (long) Math.ceil(total * 0.99);
        long seen = 0;
        for (var e : new TreeMap<>(latencyBins).entrySet()) {
            seen += e.getValue();
            if (seen >= rank) {
                return Math.pow(BASE, e.getKey()) / 1000.0;
            }
        }
        return 0;
    }
}
