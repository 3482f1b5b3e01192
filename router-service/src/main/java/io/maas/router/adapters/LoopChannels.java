package io.maas.router.adapters;

import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import io.grpc.ManagedChannel;
import io.maas.router.domain.Connections;

/**
 * One inference pod's HTTP/2 connections, one per worker event loop (the thread-per-core layout
 * of Envoy's connection pools). A call started on loop i goes out on loop i's connection, and
 * its response is read on the same thread that writes it back to the caller. The data plane
 * forwards frames on {@link PodConnection}s; shadow calls use grpc-java channels, connected on
 * first use.
 */
public final class LoopChannels implements Connections {
    private final PodConnection[] pods;
    private final ManagedChannel[] channels;

    LoopChannels(PodConnection[] pods, ManagedChannel[] channels) {
        this.pods = pods;
        this.channels = channels;
    }

    /** The calling loop's frame-level connection; off the loops any one of them (its loop runs the call). */
    public PodConnection pod() {
        int i = GrpcTransport.currentLoop();
        return pods[i >= 0 && i < pods.length ? i : ThreadLocalRandom.current().nextInt(pods.length)];
    }

    /** The calling loop's channel; off the loops (tests, background work) any one of them. */
    public ManagedChannel current() {
        int i = GrpcTransport.currentLoop();
        return channels[i >= 0 && i < channels.length ? i : ThreadLocalRandom.current().nextInt(channels.length)];
    }

    /** Connects every channel now: rather than on the first call, and without waiting out a backoff. */
    @Override
    public void connect() {
        for (PodConnection p : pods) {
            p.connect();
        }
        for (ManagedChannel c : channels) {
            c.resetConnectBackoff();
        }
    }

    /** Graceful: calls in flight finish, new ones are refused. */
    @Override
    public void shutdown() {
        for (PodConnection p : pods) {
            p.shutdown();
        }
        for (ManagedChannel c : channels) {
            c.shutdown();
        }
    }

    /** Waits until every channel has terminated or the deadline ({@link System#nanoTime()}) passes, then forces them. */
    @Override
    public void awaitTermination(long deadlineNanos) throws InterruptedException {
        try {
            for (ManagedChannel c : channels) {
                c.awaitTermination(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
            }
        } finally {
            for (PodConnection p : pods) {
                p.close();
            }
            for (ManagedChannel c : channels) {
                c.shutdownNow();
            }
        }
    }
}
