package io.maas.router.domain;

/**
 * One pod's pooled connections, as the transport (adapters/GrpcTransport) opens them; the
 * transport reaches its own type through {@link Endpoint#connections()}.
 */
public interface Connections {

    /** Connects now: rather than on the first call, and without waiting out a reconnect backoff. */
    void connect();

    /** Graceful: calls in flight finish, new ones are refused. */
    void shutdown();

    /** Waits until terminated or the deadline ({@link System#nanoTime()}) passes, then forces it. */
    void awaitTermination(long deadlineNanos) throws InterruptedException;

    /** Opens connections to pods. */
    interface Factory {
        Connections open(String host, int port);
    }
}
