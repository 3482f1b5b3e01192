package io.maas.router.api;

import io.maas.router.domain.RouterState;
import io.maas.router.domain.RoutingTable;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** /q/health/ready (and grpc.health.v1): up once a routing table has been received, down while draining. */
@Readiness
@ApplicationScoped
public class RoutingReadiness implements HealthCheck {

    @Inject
    RoutingTable table;
    @Inject
    RouterState state;

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("routing-table").status(state.ready())
                .withData("revision", table.revision())
                .withData("models", table.routes().size())
                .withData("draining", state.draining())
                .build();
    }
}
