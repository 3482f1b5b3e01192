package io.maas.router.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;

/** Picking (power of two choices, nothing tried twice), ejection and its cap. */
class EndpointPoolTest {

    final ModelKey key = new ModelKey("m", "1");

    @Test
    void picksEveryEndpointAndNeverOneAlreadyTried() {
        Fixtures f = new Fixtures();
        f.endpoints("m:1", "10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1");
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 300; i++) {
            seen.add(f.pool.pick(key, List.of()).address());
        }
        assertEquals(3, seen.size());
        List<Endpoint> tried = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Endpoint e = f.pool.pick(key, tried);
            assertFalse(tried.contains(e));
            tried.add(e);
        }
        assertNull(f.pool.pick(key, tried));
        assertNull(f.pool.pick(new ModelKey("m", "2"), List.of()));
    }

    @Test
    void prefersTheLessLoaded() {
        Fixtures f = new Fixtures();
        f.endpoints("m:1", "10.0.0.1:1", "10.0.0.2:1");
        Endpoint busy = f.pool.endpoints(key).get(0);
        for (int i = 0; i < 10; i++) {
            busy.acquired();
        }
        for (int i = 0; i < 50; i++) {
            assertFalse(f.pool.pick(key, List.of()) == busy);
        }
    }

    @Test
    void ejectionSkipsThePodAndStopsAtTheCap() {
        Fixtures f = new Fixtures(new BalancerPolicy(2, 60_000, 60_000, 0, 50, 3, 0), ModelCatalog.NONE);
        f.endpoints("m:1", "10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1", "10.0.0.4:1");
        List<Endpoint> all = f.pool.endpoints(key);
        int ejected = 0;
        for (Endpoint e : all) {
            f.pool.failure(key, e);
            if (f.pool.failure(key, e)) {
                ejected++;
            }
        }
        assertEquals(2, ejected, "50% of four");
        Set<Endpoint> picked = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            picked.add(f.pool.pick(key, List.of()));
        }
        assertEquals(2, picked.size());
        assertTrue(picked.containsAll(all.subList(2, 4)));
    }

    @Test
    void anAddressListedAgainIsReconnectedAtOnce() {
        java.util.concurrent.atomic.AtomicInteger connects = new java.util.concurrent.atomic.AtomicInteger();
        Connections.Factory counting = (host, port) -> new Connections() {
            @Override
            public void connect() {
                connects.incrementAndGet();
            }

            @Override
            public void shutdown() {
            }

            @Override
            public void awaitTermination(long deadlineNanos) {
            }
        };
        EndpointPool pool = new EndpointPool(Fixtures.POLICY, counting);
        pool.update(java.util.Map.of(key, List.of("10.0.0.1:1")), java.util.Map.of());
        Endpoint first = pool.endpoints(key).get(0);
        pool.update(java.util.Map.of(key, List.of("10.0.0.1:1", "10.0.0.2:1")), java.util.Map.of());
        assertEquals(first, pool.endpoints(key).get(0), "kept, with its connections and outlier state");
        assertEquals(3, connects.get(), "opened twice, the kept one told to reconnect now");
    }

    @Test
    void theOnlyPodIsNeverEjected() {
        Fixtures f = new Fixtures(new BalancerPolicy(1, 60_000, 60_000, 0, 100, 3, 0), ModelCatalog.NONE);
        f.endpoints("m:1", "10.0.0.1:1");
        Endpoint only = f.pool.endpoints(key).get(0);
        for (int i = 0; i < 10; i++) {
            assertFalse(f.pool.failure(key, only));
        }
        assertEquals(only, f.pool.pick(key, List.of()));
    }
}
