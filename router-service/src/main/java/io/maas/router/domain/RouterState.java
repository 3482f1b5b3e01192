package io.maas.router.domain;

import java.util.concurrent.atomic.AtomicInteger;

/** Calls in flight and the draining flag, shared by the forwarder, readiness and shutdown. */
public final class RouterState {
    private final RoutingTable table;

    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile boolean draining;

    public RouterState(RoutingTable table) {
        this.table = table;
    }

    public void callStarted() {
        inFlight.incrementAndGet();
    }

    public void callFinished() {
        inFlight.decrementAndGet();
    }

    public void startDraining() {
        draining = true;
    }

    public boolean draining() {
        return draining;
    }

    /** Ready once a routing table has been received, and until draining starts. */
    public boolean ready() {
        return table.received() && !draining;
    }

    public int inFlight() {
        return inFlight.get();
    }
}
