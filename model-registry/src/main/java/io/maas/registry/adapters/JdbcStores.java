package io.maas.registry.adapters;

import io.agroal.api.AgroalDataSource;
import io.agroal.api.configuration.supplier.AgroalDataSourceConfigurationSupplier;
import io.agroal.api.security.NamePrincipal;
import io.agroal.api.security.SimplePassword;
import org.flywaydb.core.Flyway;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.sql.SQLException;
import java.time.Duration;

/** Opens the configured store: connection pool, schema migrations, then the JDBC store. */
public final class JdbcStores {

    private static final System.Logger LOG = System.getLogger(JdbcStores.class.getName());

    private JdbcStores() {
    }

    public static JdbcRegistryStore open(StoreConfig config) {
        String url;
        switch (config.kind()) {
            case "h2" -> {
                try {
                    Files.createDirectories(config.dataDir());
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot create registry data dir " + config.dataDir(), e);
                }
                // WRITE_DELAY=0: each commit reaches the file before the call returns, so an
                // acknowledged write survives the process being killed (the default delays 500 ms).
                url = "jdbc:h2:file:" + config.dataDir().toAbsolutePath().resolve("registry") + ";WRITE_DELAY=0";
            }
            case "postgresql" -> {
                if (config.url() == null || config.url().isBlank()) {
                    throw new IllegalArgumentException("MAAS_REGISTRY_DB_KIND=postgresql needs MAAS_REGISTRY_DB_URL (jdbc:postgresql://host:5432/db)");
                }
                url = config.url();
            }
            default -> throw new IllegalArgumentException("MAAS_REGISTRY_DB_KIND must be h2 or postgresql, not '" + config.kind() + "'");
        }
        boolean h2 = config.kind().equals("h2");
        AgroalDataSource dataSource = pool(url, h2 ? org.h2.Driver.class : org.postgresql.Driver.class, config.user(), config.password(),
                h2 ? "sa" : "");
        try {
            Flyway.configure(JdbcStores.class.getClassLoader())
                    .dataSource(dataSource)
                    .locations("classpath:db/migration")
                    .load()
                    .migrate();
        } catch (RuntimeException e) {
            dataSource.close();
            throw e;
        }
        LOG.log(System.Logger.Level.INFO, "registry store: {0} at {1}", config.kind(), redact(url));
        return new JdbcRegistryStore(dataSource, dataSource);
    }

    // The driver class is named explicitly: DriverManager's one-time ServiceLoader scan misses
    // drivers of a class loader created later (Quarkus restarts its class loader in tests).
    private static AgroalDataSource pool(String url, Class<?> driver, String user, String password, String defaultUser) {
        var supplier = new AgroalDataSourceConfigurationSupplier()
                .connectionPoolConfiguration(pool -> pool
                        .minSize(1)
                        .maxSize(16)
                        .acquisitionTimeout(Duration.ofSeconds(30))
                        .connectionFactoryConfiguration(cf -> {
                            cf.jdbcUrl(url);
                            cf.connectionProviderClass(driver);
                            String u = user == null || user.isEmpty() ? defaultUser : user;
                            if (!u.isEmpty()) {
                                cf.principal(new NamePrincipal(u));
                            }
                            if (password != null && !password.isEmpty()) {
                                cf.credential(new SimplePassword(password));
                            }
                            return cf;
                        }));
        try {
            return AgroalDataSource.from(supplier);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot open registry database " + redact(url) + ": " + e.getMessage(), e);
        }
    }

    private static String redact(String url) {
        return url.replaceAll("(?i)(password=)[^;&]*", "$1***");
    }
}
