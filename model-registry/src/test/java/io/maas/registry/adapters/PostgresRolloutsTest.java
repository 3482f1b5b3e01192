package io.maas.registry.adapters;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/** The rollout state machine over a real PostgreSQL (tools/ci/postgres.sh), same cases as on H2. */
class PostgresRolloutsTest extends RolloutsTest {

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
}
