package io.maas.router.domain;

/**
 * Outcomes and latencies of one model version over a sliding window of one-second buckets.
 * Latencies go into log-spaced bins (about 12% apart), so p99 is exact to one bin.
 */
public final class VersionStats {
    private static final int BINS = 160;
    private static final double BASE = Math.log(1.12);

    private final int windowSeconds;
    private final long[] stamps;
    private final long[] ok;
    private final long[] errors;
    private final long[][] bins;

    public VersionStats(int windowSeconds) {
        this.windowSeconds = windowSeconds;
        stamps = new long[windowSeconds];
        ok = new long[windowSeconds];
        errors = new long[windowSeconds];
        bins = new long[windowSeconds][BINS];
    }

    static int bin(long micros) {
        if (micros <= 1) {
            return 0;
        }
        return (int) Math.min(BINS - 1, Math.ceil(Math.log(micros) / BASE));
    }

    static double upperMicros(int bin) {
        return Math.exp(bin * BASE);
    }

    public synchronized void record(long nowSecond, boolean success, long micros) {
        int i = (int) (nowSecond % windowSeconds);
        if (stamps[i] != nowSecond) {
            stamps[i] = nowSecond;
            ok[i] = 0;
            errors[i] = 0;
            java.util.Arrays.fill(bins[i], 0);
        }
        if (success) {
            ok[i]++;
        } else {
            errors[i]++;
        }
        bins[i][bin(micros)]++;
    }

    public record Snapshot(long total, long errors, double p99Ms) {
        public double errorRate() {
            return total == 0 ? 0 : (double) errors / total;
        }
    }

    public synchronized Snapshot snapshot(long nowSecond) {
        long total = 0;
        long err = 0;
        long[] merged = new long[BINS];
        for (int i = 0; i < windowSeconds; i++) {
            if (nowSecond - stamps[i] >= windowSeconds) {
                continue;
            }
            total += ok[i] + errors[i];
            err += errors[i];
            for (int b = 0; b < BINS; b++) {
                merged[b] += bins[i][b];
            }
        }
        double p99 = 0;
        if (total > 0) {
            long rank = (long) Math.ceil(total * 0.99);
            long seen = 0;
            for (int b = 0; b < BINS; b++) {
                seen += merged[b];
                if (seen >= rank) {
                    p99 = upperMicros(b) / 1000.0;
                    break;
                }
            }
        }
        return new Snapshot(total, err, p99);
    }

    public synchronized void clear() {
        java.util.Arrays.fill(stamps, 0);
        java.util.Arrays.fill(ok, 0);
        java.util.Arrays.fill(errors, 0);
        for (long[] b : bins) {
            java.util.Arrays.fill(b, 0);
        }
    }
}
