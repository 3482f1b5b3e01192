package io.maas.registry.adapters;

import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

/** The registry over the embedded default: an H2 database file in a temp dir. */
class H2RegistryTest extends RegistryStoreContract {

    @TempDir
    Path dir;

    @Override
    StoreConfig config() {
        return StoreConfig.h2(dir);
    }
}
