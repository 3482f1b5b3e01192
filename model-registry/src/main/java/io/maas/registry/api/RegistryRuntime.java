package io.maas.registry.api;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.maas.registry.adapters.ConfigMapRoutingWatcher;
import io.maas.registry.adapters.FileRoutingWatcher;
import io.maas.registry.adapters.JdbcStores;
import io.maas.registry.adapters.StoreConfig;
import io.maas.auth.Reloading;
import io.maas.registry.adapters.TokenFile;
import io.maas.registry.domain.AccessPolicy;
import io.maas.registry.domain.DeclarationApplier;
import io.maas.registry.domain.Registry;
import io.maas.registry.domain.RegistryStore;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import org.eclipse.microprofile.config.inject.ConfigProperty;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Wires the registry from configuration when the process starts: the store chosen by
 * MAAS_REGISTRY_DB_KIND, the access policy, the declared-routing watcher, and the metrics.
 */
@ApplicationScoped
public class RegistryRuntime {

    private static final System.Logger LOG = System.getLogger(RegistryRuntime.class.getName());

    @ConfigProperty(name = "maas.registry.db-kind", defaultValue = "h2")
    String dbKind;
    @ConfigProperty(name = "maas.registry.data-dir", defaultValue = "./data/registry")
    String dataDir;
    @ConfigProperty(name = "maas.registry.db-url")
    Optional<String> dbUrl;
    @ConfigProperty(name = "maas.registry.db-user")
    Optional<String> dbUser;
    @ConfigProperty(name = "maas.registry.db-password")
    Optional<String> dbPassword;
    @ConfigProperty(name = "maas.registry.tokens-file")
    Optional<String> tokensFile;
    @ConfigProperty(name = "maas.registry.require-auth", defaultValue = "false")
    boolean requireAuth;
    @ConfigProperty(name = "maas.registry.reads-require-auth", defaultValue = "false")
    boolean readsRequireAuth;
    @ConfigProperty(name = "maas.routing-configmap")
    Optional<String> routingConfigMap;
    @ConfigProperty(name = "maas.routing-namespace")
    Optional<String> routingNamespace;
    @ConfigProperty(name = "maas.routing-file")
    Optional<String> routingFile;
    /** Seconds between looks for routing changes written by other registry replicas (PostgreSQL). */
    @ConfigProperty(name = "maas.registry.catch-up-interval", defaultValue = "2")
    int catchUpSeconds;
    /** Seconds between looks at the tokens file for changes; 0 = read it only at start. */
    @ConfigProperty(name = "maas.registry.tokens-reload-interval", defaultValue = "5")
    int tokensReloadSeconds;

    @Inject
    Instance<KubernetesClient> kubernetes;
    @Inject
    MeterRegistry meters;

    private RegistryStore store;
    private volatile Registry registry;
    private volatile AccessPolicy accessPolicy;
    /** The tokens file's policy, reloaded when the file changes (e.g. a Secret update); null in dev mode. */
    private volatile Reloading<AccessPolicy> tokensInForce;
    private final List<AutoCloseable> closeables = new ArrayList<>();

    void start(@Observes StartupEvent event) {
        ensureStarted();
    }

    // The gRPC server may take calls before StartupEvent observers ran: the first caller
    // (or the event) opens the store, and the others wait for it rather than see no registry.
    private synchronized void ensureStarted() {
        if (registry != null) {
            return;
        }
        firstAccessPolicy();
        store = JdbcStores.open(storeConfig());
        var opened = new Registry(store, System::currentTimeMillis);
        Gauge.builder("maas_registry_watchers", opened.feed(), f -> f.watcherCount())
                .description("Routing watch streams currently connected").register(meters);
        Gauge.builder("maas_registry_routing_revision", opened.feed(), f -> f.revision())
                .description("Current global routing revision").register(meters);
        registry = opened;
        startDeclaredRouting();
        if (dbKind.equals("postgresql") && catchUpSeconds > 0) {
            ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "maas-registry-catch-up"));
            timer.scheduleWithFixedDelay(this::catchUp, catchUpSeconds, catchUpSeconds, TimeUnit.SECONDS);
            closeables.add(timer::shutdownNow);
        }
    }

    synchronized void stop(@Observes ShutdownEvent event) {
        for (var c : closeables) {
            try {
                c.close();
            } catch (Exception e) {
                LOG.log(System.Logger.Level.WARNING, "shutdown: " + e.getMessage());
            }
        }
        if (registry != null) {
            registry.feed().closeAll();
        }
        if (store != null) {
            store.close();
        }
    }

    public Registry registry() {
        var r = registry;
        if (r != null) {
            return r;
        }
        ensureStarted();
        return registry;
    }

    /**
     * The policy every call is checked against (read per call, so kept off the lock). The tokens
     * file is re-read at most every MAAS_REGISTRY_TOKENS_RELOAD_INTERVAL seconds when it changed
     * (the shared {@link Reloading}), so tokens are added and revoked without a restart; a rewrite
     * that does not parse keeps the tokens in force (an ERROR says why) rather than locking everyone out.
     */
    public AccessPolicy accessPolicy() {
        var tokens = tokensInForce;
        if (tokens != null) {
            return tokens.get();
        }
        var policy = accessPolicy;
        return policy != null ? policy : firstAccessPolicy();
    }

    private synchronized AccessPolicy firstAccessPolicy() {
        if (accessPolicy != null) {
            return accessPolicy;
        }
        if (tokensFile.isEmpty()) {
            if (requireAuth) {
                throw new IllegalStateException("MAAS_REGISTRY_REQUIRE_AUTH=true but MAAS_REGISTRY_TOKENS_FILE is not set: "
                        + "give a tokens file (subject:role:token per line)");
            }
            LOG.log(System.Logger.Level.WARNING, "LOCAL DEV MODE: no MAAS_REGISTRY_TOKENS_FILE, so every caller may write and "
                    + "writes are attributed to 'anonymous'. Set MAAS_REGISTRY_TOKENS_FILE (and MAAS_REGISTRY_REQUIRE_AUTH=true) in production.");
            accessPolicy = AccessPolicy.devMode();
        } else {
            long intervalMs = tokensReloadSeconds > 0 ? tokensReloadSeconds * 1000L : Long.MAX_VALUE / 2_000_000;
            try {
                tokensInForce = new Reloading<>(Path.of(tokensFile.get()),
                        (file, bytes) -> AccessPolicy.tokens(TokenFile.parse(file, bytes), readsRequireAuth), intervalMs);
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException("MAAS_REGISTRY_TOKENS_FILE: " + e.getMessage(), e);
            }
            LOG.log(System.Logger.Level.INFO, "registry auth: tokens from {0}; reads {1}", tokensFile.get(),
                    readsRequireAuth ? "need a token" : "are open");
            return tokensInForce.get();
        }
        return accessPolicy;
    }

    private StoreConfig storeConfig() {
        return switch (dbKind) {
            case "h2" -> StoreConfig.h2(Path.of(dataDir));
            case "postgresql" -> StoreConfig.postgresql(dbUrl.orElse(""), dbUser.orElse(""), dbPassword.orElse(""));
            default -> throw new IllegalArgumentException("MAAS_REGISTRY_DB_KIND must be h2 or postgresql, not '" + dbKind + "'");
        };
    }

    private void startDeclaredRouting() {
        if (routingConfigMap.isPresent()) {
            KubernetesClient client = kubernetes.get();
            String ns = routingNamespace.orElseGet(() -> Optional.ofNullable(client.getNamespace()).orElse("default"));
            var applier = new DeclarationApplier(registry, "configmap/" + ns + "/" + routingConfigMap.get());
            var watcher = new ConfigMapRoutingWatcher(client, ns, routingConfigMap.get(), applier);
            watcher.start();
            closeables.add(watcher);
        }
        if (routingFile.isPresent()) {
            var applier = new DeclarationApplier(registry, "file:" + routingFile.get());
            var watcher = new FileRoutingWatcher(Path.of(routingFile.get()), applier);
            watcher.start();
            closeables.add(watcher);
        }
    }

    private void catchUp() {
        try {
            registry.catchUp();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "routing catch-up from the store failed: " + e.getMessage());
        }
    }

    private static Thread daemon(Runnable r, String name) {
        var t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }
}
