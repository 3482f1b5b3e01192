package io.maas.registry.adapters;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

import java.sql.DriverManager;
import java.sql.SQLException;

/**
 * The PostgreSQL started by tools/ci/postgres.sh. When it is not reachable the PostgreSQL tests
 * fail under CI=true and are skipped otherwise.
 */
public final class PostgresSupport {

    public static final String URL = System.getenv().getOrDefault("MAAS_TEST_PG_URL", "jdbc:postgresql://127.0.0.1:55432/maas");
    public static final String USER = System.getenv().getOrDefault("MAAS_TEST_PG_USER", "maas");
    public static final String PASSWORD = System.getenv().getOrDefault("MAAS_TEST_PG_PASSWORD", "maas");

    private PostgresSupport() {
    }

    /** A PostgreSQL config on a freshly emptied database. */
    public static StoreConfig freshDatabase() {
        requireReachable();
        try (var c = DriverManager.getConnection(URL, USER, PASSWORD); var s = c.createStatement()) {
            s.execute("DROP SCHEMA public CASCADE");
            s.execute("CREATE SCHEMA public");
        } catch (SQLException e) {
            throw new IllegalStateException("cannot reset test database " + URL, e);
        }
        return StoreConfig.postgresql(URL, USER, PASSWORD);
    }

    public static void requireReachable() {
        String problem;
        try (var c = DriverManager.getConnection(URL, USER, PASSWORD)) {
            return;
        } catch (SQLException e) {
            problem = e.getMessage();
        }
        String message = "PostgreSQL not reachable at " + URL + " (" + problem + "): start it with tools/ci/postgres.sh";
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            Assertions.fail(message);
        }
        Assumptions.abort(message + "; skipping PostgreSQL tests");
    }
}
