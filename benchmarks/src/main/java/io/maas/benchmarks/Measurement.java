package io.maas.benchmarks;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One closed-loop measurement window: a warm-up phase whose calls are not counted, then a
 * measured phase of fixed length, then stop. Every call that completes inside the measured
 * phase counts towards throughput and contributes its latency, wherever it started.
 */
final class Measurement {
    enum Phase { WARMUP, MEASURE, STOP }

    private volatile Phase phase = Phase.WARMUP;
    private long[] latencies = new long[1 << 14];
    private int count;
    private final AtomicLong errors = new AtomicLong();
    private volatile String firstError;
    private long measureStart;
    private long measureEnd;

    Phase phase() {
        return phase;
    }

    boolean stopped() {
        return phase == Phase.STOP;
    }

    /** Records one completed call that started at {@code startNanos}; ignored outside the measured phase. */
    void completed(long startNanos) {
        long now = System.nanoTime();
        if (phase != Phase.MEASURE) {
            return;
        }
        synchronized (this) {
            if (count == latencies.length) {
                latencies = Arrays.copyOf(latencies, count * 2);
            }
            latencies[count++] = now - startNanos;
        }
    }

    void failed(String message) {
        errors.incrementAndGet();
        if (firstError == null) {
            firstError = message;
        }
    }

    long errors() {
        return errors.get();
    }

    /** Runs the phases on the calling thread: warm up, measure, stop. */
    void run(double warmupSeconds, double durationSeconds) throws InterruptedException {
        run(warmupSeconds, durationSeconds, () -> { }, () -> { });
    }

    /** As above, calling {@code atStart} as the measured phase begins and {@code atEnd} as it ends (e.g. to read CPU time). */
    void run(double warmupSeconds, double durationSeconds, Runnable atStart, Runnable atEnd)
            throws InterruptedException {
        sleep(warmupSeconds);
        atStart.run();
        synchronized (this) {
            measureStart = System.nanoTime();
            phase = Phase.MEASURE;
        }
        sleep(durationSeconds);
        synchronized (this) {
            phase = Phase.STOP;
            measureEnd = System.nanoTime();
        }
        atEnd.run();
    }

    private static void sleep(double seconds) throws InterruptedException {
        long nanos = (long) (seconds * 1e9);
        long end = System.nanoTime() + nanos;
        for (long left = nanos; left > 0; left = end - System.nanoTime()) {
            Thread.sleep(Math.max(1, left / 1_000_000));
        }
    }

    synchronized Result result() {
        long[] sorted = Arrays.copyOf(latencies, count);
        Arrays.sort(sorted);
        double seconds = (measureEnd - measureStart) / 1e9;
        return new Result(count, count / seconds, percentile(sorted, 0.50), percentile(sorted, 0.99), errors.get(),
                firstError);
    }

    private static double percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int idx = (int) Math.ceil(p * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, idx))] / 1e3;
    }

    /** Throughput in inferences per second; latencies in microseconds. */
    record Result(long calls, double throughput, double p50Micros, double p99Micros, long errors, String firstError) {
    }
}
