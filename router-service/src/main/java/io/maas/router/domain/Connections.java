package io.maas.router.domain;

import io.grpc.ManagedChannel;

/** One pod's pooled HTTP/2 connections, as the transport (adapters/GrpcTransport) opens them. */
public interface Connections {

    /** The channel a call started on the current thread should use. */
    ManagedChannel current();

    /** Starts connecting now rather than on the first call. */
    void connect();

    /** Graceful: calls in flight finish, new ones are refused. */
    void shutdown();

    /** Waits until terminated or the deadline ({@link System#nanoTime()}) passes, then forces it. */
    void awaitTermination(long deadlineNanos) throws InterruptedException;

    /** Opens connections to pods. */
    interface Factory {
        Connections open(String host, int port, int maxMessageBytes);
    }
}
