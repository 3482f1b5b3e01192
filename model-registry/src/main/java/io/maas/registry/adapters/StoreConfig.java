package io.maas.registry.adapters;

import java.nio.file.Path;

/**
 * Which database backs the registry, chosen when the process starts (not at build time).
 *
 * @param kind     "h2" (embedded file, the default) or "postgresql"
 * @param dataDir  H2 only: directory of the database file
 * @param url      PostgreSQL only: JDBC URL
 */
public record StoreConfig(String kind, Path dataDir, String url, String user, String password) {

    public static StoreConfig h2(Path dataDir) {
        return new StoreConfig("h2", dataDir, "", "", "");
    }

    public static StoreConfig postgresql(String url, String user, String password) {
        return new StoreConfig("postgresql", null, url, user, password);
    }
}
