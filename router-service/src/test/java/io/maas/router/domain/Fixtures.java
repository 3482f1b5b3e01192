package io.maas.router.domain;

import io.maas.auth.FrontDoor;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** A domain wired without any transport: endpoints that connect nowhere, events recorded in lists. */
final class Fixtures {

    static final BalancerPolicy POLICY = new BalancerPolicy(3, 60_000, 60_000, 0, 50, 3, 0);

    static final Connections.Factory NOWHERE = (host, port) -> new Connections() {
        @Override
        public void connect() {
        }

        @Override
        public void shutdown() {
        }

        @Override
        public void awaitTermination(long deadlineNanos) {
        }
    };

    /** Records what the pipeline reports. */
    static final class Events implements ForwardingEvents, CanaryEvents {
        final List<String> calls = new ArrayList<>();
        final List<String> retries = new ArrayList<>();
        final List<String> ejections = new ArrayList<>();
        final List<String> aborts = new ArrayList<>();
        final List<String> tenantCalls = new ArrayList<>();
        final List<String> fallbacks = new ArrayList<>();

        @Override
        public synchronized void canaryFallback(ModelKey canary, StatusCode code) {
            fallbacks.add(canary + "/" + code);
        }

        @Override
        public synchronized void tenantCall(String tenant, String model, StatusCode code) {
            tenantCalls.add(tenant + "/" + model + "/" + code);
        }

        @Override
        public synchronized void call(String method, ModelKey key, String track, StatusCode code, long nanos) {
            calls.add(key + "/" + track + "/" + code);
        }

        @Override
        public synchronized void retry(ModelKey key, String track) {
            retries.add(key.toString());
        }

        @Override
        public synchronized void ejection(ModelKey key, String endpoint, Outcome last) {
            ejections.add(endpoint);
        }

        @Override
        public synchronized void canaryAbort(String model, String version, String reason) {
            aborts.add(model + ":" + version + ":" + reason);
        }
    }

    /** A catalog fixed by the test. */
    static ModelCatalog catalog(Map<String, Set<String>> versions) {
        return new ModelCatalog() {
            @Override
            public Set<String> models() {
                return versions.keySet();
            }

            @Override
            public Set<String> versions(String model) {
                return versions.getOrDefault(model, Set.of());
            }
        };
    }

    final RoutingTable table = new RoutingTable();
    final EndpointPool pool;
    final Events events = new Events();
    final RouterState state = new RouterState(table);
    final CanaryGuard canary;
    final List<String> abortsWritten = new ArrayList<>();
    final Forwarding forwarding;

    Fixtures(BalancerPolicy policy, ModelCatalog catalog) {
        this(policy, catalog, FrontDoor.open());
    }

    Fixtures(BalancerPolicy policy, ModelCatalog catalog, FrontDoor door) {
        this(policy, catalog, door, true);
    }

    Fixtures(BalancerPolicy policy, ModelCatalog catalog, FrontDoor door, boolean fallbackToStable) {
        pool = new EndpointPool(policy, NOWHERE);
        canary = new CanaryGuard(new CanaryPolicy(0.05, 0, 60, 20, true, true, fallbackToStable), table, (route, reason) -> {
            abortsWritten.add(route.model() + ":" + route.canary());
            return route.revision() + 1;
        }, events);
        forwarding = new Forwarding(table, pool, catalog, canary, state, events, policy, door);
    }

    Fixtures() {
        this(POLICY, ModelCatalog.NONE);
    }

    /** Endpoints per version, e.g. {@code endpoints("m:1", "10.0.0.1:1", "10.0.0.2:1")}. */
    void endpoints(Object... keysAndAddresses) {
        Map<ModelKey, List<String>> groups = new HashMap<>();
        ModelKey current = null;
        for (Object o : keysAndAddresses) {
            String s = o.toString();
            if (!s.matches("[0-9.]+:[0-9]+")) {
                String[] mv = s.split(":");
                current = new ModelKey(mv[0], mv[1]);
                groups.put(current, new ArrayList<>());
            } else {
                groups.get(current).add(s);
            }
        }
        pool.update(groups, Map.of());
    }
}
