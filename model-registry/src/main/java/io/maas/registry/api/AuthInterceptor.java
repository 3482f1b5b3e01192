package io.maas.registry.api;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.maas.proto.registry.ModelRegistryGrpc;
import io.maas.registry.domain.Actor;
import io.maas.registry.domain.RegistryException;
import io.quarkus.grpc.GlobalInterceptor;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import java.util.Optional;
import java.util.Set;

/**
 * Authenticates registry calls from the {@code authorization: Bearer <token>} metadata and
 * refuses what the caller's role does not allow, before the call reaches the service. Other
 * services on the port (gRPC health) are left alone.
 */
@GlobalInterceptor
@ApplicationScoped
public class AuthInterceptor implements ServerInterceptor {

    static final Context.Key<Actor> ACTOR = Context.key("maas-actor");
    private static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    private static final Set<String> WRITES = Set.of("CreateModel", "RegisterVersion", "SetStage", "SetRouting", "RollbackRouting");

    @Inject
    RegistryRuntime runtime;

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        var method = call.getMethodDescriptor();
        if (!ModelRegistryGrpc.SERVICE_NAME.equals(method.getServiceName())) {
            return next.startCall(call, headers);
        }
        Actor actor;
        try {
            actor = runtime.accessPolicy().authorize(bearer(headers.get(AUTHORIZATION)), WRITES.contains(method.getBareMethodName()));
        } catch (RegistryException e) {
            call.close(GrpcErrors.status(e).withDescription(e.getMessage()), new Metadata());
            return new ServerCall.Listener<>() { };
        }
        return Contexts.interceptCall(Context.current().withValue(ACTOR, actor), call, headers, next);
    }

    private static Optional<String> bearer(String header) {
        if (header == null || header.isBlank()) {
            return Optional.empty();
        }
        String h = header.strip();
        if (h.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return Optional.of(h.substring(7).strip());
        }
        // A malformed header is a wrong credential, not an absent one.
        return Optional.of("\0malformed");
    }
}
