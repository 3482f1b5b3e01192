package io.maas.inference.api;

import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.maas.auth.RequestBudget;
import io.maas.inference.adapters.grpc.RequestBudgetGuard;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.grpc.GlobalInterceptor;
import io.quarkus.grpc.api.ServerBuilderCustomizer;
import io.quarkus.grpc.runtime.config.GrpcServerConfiguration;
import io.vertx.grpc.VertxServerBuilder;

/**
 * Puts the pod's gRPC server under its request byte budget ({@code MAAS_MAX_REQUEST_BYTES_IN_FLIGHT}):
 * the guard's stream tracer on the server, its interceptor on every call (see {@link RequestBudgetGuard}).
 */
@ApplicationScoped
@GlobalInterceptor
public class RequestBudgetInterceptor implements ServerInterceptor, ServerBuilderCustomizer<VertxServerBuilder> {

    @Inject
    RequestBudget budget;
    @Inject
    MeterRegistry registry;

    private RequestBudgetGuard guard;

    @PostConstruct
    void init() {
        guard = new RequestBudgetGuard(budget, InferenceBeans.overBudget(registry)::increment);
    }

    @Override
    public void customize(GrpcServerConfiguration config, VertxServerBuilder builder) {
        builder.addStreamTracerFactory(guard);
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                       ServerCallHandler<Q, R> next) {
        return guard.interceptCall(call, headers, next);
    }
}
