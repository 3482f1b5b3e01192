package io.maas.router.api;

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
                c.autoAbort(), registryConfigured), table, registry, metrics, tally);
    }

    @Produces
    @Singleton
    Forwarding forwarding(RoutingTable table, EndpointPool pool, RegistryWatcher registry, CanaryGuard canary,
                          RouterState state, RouterMetrics metrics, BalancerPolicy policy) {
        return new Forwarding(table, pool, registry, canary, state, metrics, policy);
    }
}
