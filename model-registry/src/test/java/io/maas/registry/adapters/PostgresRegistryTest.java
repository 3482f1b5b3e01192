package io.maas.registry.adapters;

import io.maas.registry.domain.Registry;
import io.maas.registry.domain.RoutingEntry;
import io.maas.registry.domain.RoutingSpec;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The registry over a real PostgreSQL (tools/ci/postgres.sh), including two registries sharing it. */
class PostgresRegistryTest extends RegistryStoreContract {

    @BeforeAll
    static void reachable() {
        PostgresSupport.requireReachable();
    }

    private StoreConfig config;

    @Override
    @BeforeEach
    void open() {
        config = PostgresSupport.freshDatabase();
        super.open();
    }

    @Override
    StoreConfig config() {
        return config;
    }

    @Test
    void twoRegistryProcessesSharingTheDatabaseNeverReuseARevision() throws Exception {
        for (int m = 0; m < 4; m++) {
            register("p" + m, "1", INPUTS);
            register("p" + m, "2", INPUTS);
        }
        try (var otherStore = JdbcStores.open(config)) {
            var other = new Registry(otherStore, System::currentTimeMillis);
            var pool = Executors.newFixedThreadPool(4);
            List<Future<Integer>> futures = new ArrayList<>();
            for (int m = 0; m < 4; m++) {
                Registry writer = m % 2 == 0 ? registry : other;
                String model = "p" + m;
                futures.add(pool.submit(() -> {
                    int aborted = 0;
                    for (int w = 1; w <= 10; w++) {
                        try {
                            writer.setRouting(ALICE, new RoutingSpec(model, "1", "2", w), false, "", OptionalLong.empty());
                        } catch (io.maas.registry.domain.RegistryException e) {
                            aborted++;
                        }
                    }
                    return aborted;
                }));
            }
            int aborted = 0;
            for (var f : futures) {
                aborted += f.get(60, TimeUnit.SECONDS);
            }
            pool.shutdown();
            // Writers touch different models, so revision races are retried, never surfaced.
            assertEquals(0, aborted);
            var history = store.changesAfter(0, 1000);
            assertEquals(40, history.size());
            for (int i = 0; i < history.size(); i++) {
                assertEquals(i + 1, history.get(i).revision());
            }
            // Each registry's feed catches up with the other's commits.
            registry.catchUp();
            other.catchUp();
            assertEquals(40, registry.feed().revision());
            assertEquals(registry.feed().snapshot(), other.feed().snapshot());
            assertEquals(List.of(10, 10, 10, 10), registry.feed().snapshot().stream().map(RoutingEntry::canaryWeight).toList());
        }
    }
}
