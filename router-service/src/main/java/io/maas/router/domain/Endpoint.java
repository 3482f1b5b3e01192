package io.maas.router.domain;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * One inference pod's gRPC address with its transport's connections, its outstanding-request count
 * (the load balancer's signal) and its outlier state.
 */
public final class Endpoint {
    private final String address;
    private final String host;
    private final int port;
    private final Connections channels;
    private final AtomicInteger outstanding = new AtomicInteger();
    private volatile String httpAddress;
    private int consecutiveFailures;
    private int ejections;
    private long ejectedUntilNanos;
    private long rampEndNanos;

    Endpoint(String address, Connections channels) {
        this.address = address;
        this.channels = channels;
        int colon = address.lastIndexOf(':');
        this.host = address.substring(0, colon);
        this.port = Integer.parseInt(address.substring(colon + 1));
    }

    public String address() {
        return address;
    }

    public String host() {
        return host;
    }

    public int port() {
        return port;
    }

    public int outstanding() {
        return outstanding.get();
    }

    /** host:port of the pod's HTTP server (REST twin), or null when unknown. */
    public String httpAddress() {
        return httpAddress;
    }

    public void httpAddress(String address) {
        this.httpAddress = address;
    }

    /** The transport's connections to this pod, as its {@link Connections.Factory} opened them. */
    public Connections connections() {
        return channels;
    }

    /** A call to this endpoint starts; {@link #released()} when it ends. */
    public void acquired() {
        outstanding.incrementAndGet();
    }

    public void released() {
        outstanding.decrementAndGet();
    }

    /** 0 while ejected, rising linearly to 1 over the ramp after the ejection ends. */
    synchronized double share(long now) {
        if (now < ejectedUntilNanos) {
            return 0;
        }
        if (now >= rampEndNanos) {
            return 1;
        }
        long ramp = rampEndNanos - ejectedUntilNanos;
        return ramp <= 0 ? 1 : Math.max(0.05, (double) (now - ejectedUntilNanos) / ramp);
    }

    public synchronized void success() {
        consecutiveFailures = 0;
        if (System.nanoTime() >= rampEndNanos) {
            ejections = 0;
        }
    }

    /** Counts a failure; true when it ejects the endpoint (only when {@code mayEject}). */
    synchronized boolean failure(int threshold, long baseMs, long maxMs, long rampMs, boolean mayEject) {
        long now = System.nanoTime();
        if (now < ejectedUntilNanos) {
            return false;
        }
        if (++consecutiveFailures < threshold || !mayEject) {
            consecutiveFailures = Math.min(consecutiveFailures, threshold);
            return false;
        }
        consecutiveFailures = 0;
        long ms = Math.min(maxMs, baseMs << Math.min(ejections, 20));
        ejections++;
        ejectedUntilNanos = now + ms * 1_000_000L;
        rampEndNanos = ejectedUntilNanos + rampMs * 1_000_000L;
        return true;
    }

    synchronized boolean ejected() {
        return System.nanoTime() < ejectedUntilNanos;
    }

    @Override
    public String toString() {
        return address;
    }
}
