package io.maas.router.api;

import io.maas.auth.AuthSettings;
import io.maas.auth.FrontDoor;
import java.nio.file.Path;
import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

import io.maas.router.adapters.GrpcTransport;
import io.maas.router.adapters.RegistryWatcher;
import io.maas.router.adapters.RouterConfig;
import io.maas.router.adapters.RouterMetrics;
import io.maas.router.domain.BalancerPolicy;
import io.maas.router.domain.CanaryGuard;
import io.maas.router.domain.CanaryPolicy;
import io.maas.router.domain.EndpointPool;
import io.maas.router.domain.Forwarding;
import io.maas.router.domain.RouterState;
import io.maas.router.domain.RoutingTable;
import io.maas.router.domain.TrafficTally;

/**
 * Wires the plain-Java domain from configuration and the adapters: the domain itself knows no CDI.
 * Singletons, not client proxies: the domain's classes are final and read on every call.
 */
@ApplicationScoped
public class RouterBeans {
    private static final System.Logger LOG = System.getLogger(RouterBeans.class.getName());

    @Produces
    @Singleton
    RoutingTable routingTable() {
        return new RoutingTable();
    }

    @Produces
    @Singleton
    RouterState routerState(RoutingTable table) {
        return new RouterState(table);
    }

    @Produces
    @Singleton
    BalancerPolicy balancerPolicy(RouterConfig config) {
        var b = config.balancer();
        return new BalancerPolicy(b.ejectAfterFailures(), b.ejectBaseMs(), b.ejectMaxMs(), b.rampMs(),
                b.maxEjectedPercent(), b.maxAttempts(), b.defaultTimeoutMs());
    }

    @Produces
    @Singleton
    EndpointPool endpointPool(BalancerPolicy policy, GrpcTransport transport) {
        return new EndpointPool(policy, transport);
    }

    @Produces
    @Singleton
    TrafficTally trafficTally() {
        return new TrafficTally();
    }

    @Produces
    @Singleton
    CanaryGuard canaryGuard(RouterConfig config, RoutingTable table, RegistryWatcher registry, RouterMetrics metrics, TrafficTally tally) {
        var c = config.canary();
        boolean registryConfigured = config.registry().address().filter(a -> !a.isBlank()).isPresent();
        return new CanaryGuard(new CanaryPolicy(c.maxErrorRateDelta(), c.maxP99Ms(), c.windowSeconds(), c.minRequests(),
                c.autoAbort(), registryConfigured, c.fallbackToStable()), table, registry, metrics, tally);
    }

    @Produces
    @Singleton
    Forwarding forwarding(RoutingTable table, EndpointPool pool, RegistryWatcher registry, CanaryGuard canary,
                          RouterState state, RouterMetrics metrics, BalancerPolicy policy, FrontDoor door) {
        return new Forwarding(table, pool, registry, canary, state, metrics, policy, door);
    }

    /** Authentication, the tenant policy and quotas, from MAAS_AUTH_*; a missing or wrong file stops the start here. */
    @Produces
    @Singleton
    FrontDoor frontDoor(RouterConfig config, RouterMetrics metrics) {
        var a = config.auth();
        var settings = new AuthSettings(a.enabled(), a.apiKeysFile().filter(s -> !s.isBlank()).map(Path::of).orElse(null),
                a.policyFile().filter(s -> !s.isBlank()).map(Path::of).orElse(null), a.reloadIntervalMs(),
                a.jwt().issuer().orElse(null), a.jwt().audience().orElse(List.of()), a.jwt().tenantClaim(),
                a.jwt().jwks().orElse(null), a.jwt().jwksCa().filter(s -> !s.isBlank()).map(Path::of).orElse(null),
                a.jwt().jwksTokenFile().filter(s -> !s.isBlank()).map(Path::of).orElse(null), a.certificates());
        FrontDoor door = settings.frontDoor(metrics);
        LOG.log(System.Logger.Level.INFO, "model calls need: {0}", door.accepted());
        return door;
    }
}
