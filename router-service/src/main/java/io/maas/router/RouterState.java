package io.maas.router;

import java.util.concurrent.atomic.AtomicInteger;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

/** Calls in flight and the draining flag, shared by the forwarder, readiness and shutdown. */
@ApplicationScoped
public class RouterState {
    @Inject
    RoutingTable table;

    final AtomicInteger inFlight = new AtomicInteger();
    volatile boolean draining;

    /** Ready once a routing table has been received, and until draining starts. */
    public boolean ready() {
        return table.received() && !draining;
    }

    public int inFlight() {
        return inFlight.get();
    }
}
