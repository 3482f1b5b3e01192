package io.maas.router.api;

import io.maas.router.adapters.RouterConfig;
import io.maas.router.domain.CanaryGuard;
import io.maas.router.domain.EndpointPool;
import io.maas.router.domain.RouterState;
import io.maas.router.domain.RoutingTable;
import io.maas.router.adapters.KubernetesEndpoints;
import io.maas.router.adapters.RegistryWatcher;
import io.maas.router.adapters.StaticEndpoints;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;

/** Starts endpoint discovery, the registry watch and the canary guard; drains on shutdown. */
@ApplicationScoped
public class RouterLifecycle {

    private static final System.Logger LOG = System.getLogger(RouterLifecycle.class.getName());

    @Inject
    RouterConfig config;
    @Inject
    EndpointPool pool;
    @Inject
    RoutingTable table;
    @Inject
    RegistryWatcher registry;
    @Inject
    CanaryGuard canary;
    @Inject
    RouterState state;
    @Inject
    DataPlaneServer server;
    @Inject
    Instance<KubernetesClient> kubernetes;

    private KubernetesEndpoints discovery;

    void start(@Observes StartupEvent event) {
        String source = config.endpoints().source();
        switch (source) {
            case "static" -> {
                var s = StaticEndpoints.parse(config.staticEndpoints().orElse(""));
                pool.update(s.addresses(), s.tracks(), s.http());
            }
            case "kubernetes" -> {
                discovery = new KubernetesEndpoints(kubernetes.get(), config.endpoints().namespace().orElse(null), pool);
                discovery.start();
            }
            default -> throw new IllegalArgumentException("MAAS_ENDPOINTS_SOURCE must be static or kubernetes, not " + source);
        }
        if (config.registry().address().filter(a -> !a.isBlank()).isPresent()) {
            registry.start();
        } else {
            LOG.log(System.Logger.Level.WARNING, "MAAS_REGISTRY_ADDRESS is not set: no routing table; "
                    + "calls must name a version, or the model's endpoints must serve a single version");
            table.markReceivedWithoutRegistry();
        }
        canary.start();
        server.start();
    }

    void stop(@Observes ShutdownEvent event) {
        state.startDraining();
        long deadline = System.nanoTime() + config.balancer().drainSeconds() * 1_000_000_000L;
        while (state.inFlight() > 0 && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        LOG.log(System.Logger.Level.INFO, "drained; {0} calls still in flight", state.inFlight());
        server.stop();
        canary.stop();
        registry.stop();
        if (discovery != null) {
            discovery.stop();
        }
        pool.shutdown(2000);
    }
}
