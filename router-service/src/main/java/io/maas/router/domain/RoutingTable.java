package io.maas.router.domain;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The registry's routing table in memory: an immutable map swapped on each change, read without
 * locks on every call. Local canary aborts hold a model's canary at weight 0 until the registry
 * publishes a newer revision of that model.
 */
public final class RoutingTable {

    private volatile Map<String, Route> routes = Map.of();
    private volatile long revision;
    private volatile boolean received;
    private volatile long lastUpdateNanos;
    private final Map<String, Long> abortedAt = new ConcurrentHashMap<>();
    private final List<Consumer<RoutingTable>> listeners = new CopyOnWriteArrayList<>();

    public Route route(String model) {
        Route r = routes.get(model);
        if (r != null && r.hasCanary()) {
            Long aborted = abortedAt.get(model);
            if (aborted != null && aborted == r.revision()) {
                return new Route(r.model(), r.stable(), r.canary(), 0, r.revision(), "held at 0 by this router's canary abort");
            }
        }
        return r;
    }

    public Map<String, Route> routes() {
        return routes;
    }

    public long revision() {
        return revision;
    }

    public boolean received() {
        return received;
    }

    public long lastUpdateNanos() {
        return lastUpdateNanos;
    }

    public synchronized void replaceAll(long revision, List<Route> all) {
        Map<String, Route> next = new HashMap<>();
        for (Route r : all) {
            next.put(r.model(), r);
        }
        routes = Map.copyOf(next);
        this.revision = revision;
        changed();
    }

    public synchronized void apply(long revision, Route route) {
        Map<String, Route> next = new HashMap<>(routes);
        next.put(route.model(), route);
        routes = Map.copyOf(next);
        this.revision = Math.max(this.revision, revision);
        changed();
    }

    /** Sends no more traffic to this route's canary until the registry publishes a newer revision of it. */
    public void holdCanaryAtZero(Route route) {
        abortedAt.put(route.model(), route.revision());
    }

    /** Routing without a registry (local runs): the table is "received" empty. */
    public synchronized void markReceivedWithoutRegistry() {
        changed();
    }

    public void onChange(Consumer<RoutingTable> listener) {
        listeners.add(listener);
    }

    private void changed() {
        received = true;
        lastUpdateNanos = System.nanoTime();
        for (Consumer<RoutingTable> l : listeners) {
            l.accept(this);
        }
    }
}
