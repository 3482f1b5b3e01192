package io.maas.inference.api;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.maas.auth.ApiKeys;
import io.maas.auth.Authenticator;
import io.maas.auth.Caller;
import io.maas.auth.FrontDoor;
import io.maas.auth.Operation;
import io.maas.auth.Presented;
import io.maas.auth.Quotas;
import io.maas.auth.Reloading;
import io.maas.auth.TenantPolicy;
import io.maas.proto.inference.GRPCInferenceServiceGrpc;
import io.quarkus.grpc.GlobalInterceptor;

/**
 * Repository load and unload on a pod are admin operations: with {@code MAAS_ADMIN_KEYS_FILE}
 * (the router's API keys file: {@code tenant:sha256:<hex>} lines, reloaded) only the tenants in
 * {@code MAAS_ADMIN_TENANTS} may call them, over gRPC and REST; each refusal and each operation is
 * an audit line (the shared {@link FrontDoor}). Unset: open, as before (local runs). Inference
 * itself is not checked here: in a cluster it reaches pods through the router, which decides it.
 */
@ApplicationScoped
@GlobalInterceptor
public class RepositoryGuard implements ServerInterceptor {
    private static final Context.Key<Presented> PRESENTED = Context.key("maas-presented");
    private static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of(Presented.AUTHORIZATION, Metadata.ASCII_STRING_MARSHALLER);
    private static final Metadata.Key<String> API_KEY = Metadata.Key.of(Presented.API_KEY, Metadata.ASCII_STRING_MARSHALLER);

    @ConfigProperty(name = "maas.admin.keys-file")
    Optional<String> keysFile;
    @ConfigProperty(name = "maas.admin.tenants", defaultValue = "default")
    List<String> adminTenants;
    @ConfigProperty(name = "maas.admin.reload-interval-ms", defaultValue = "5000")
    long reloadMillis;

    private FrontDoor door;

    @PostConstruct
    void init() {
        door = keysFile.filter(f -> !f.isBlank())
                .map(f -> new FrontDoor(new Authenticator(new Reloading<>(Path.of(f), ApiKeys::parse, reloadMillis), null, null),
                        () -> TenantPolicy.admins(adminTenants), new Quotas(), FrontDoor.Events.NONE))
                .orElse(null);
    }

    /** Checks the caller of a load or unload of {@code model} and records the operation; throws AuthException when refused. */
    void admit(Presented presented, String model, String what) {
        if (door == null) {
            return;
        }
        Caller caller = door.authenticate(presented, Operation.ADMIN);
        door.authorize(caller, Operation.ADMIN, model);
        door.audited(caller, Operation.ADMIN, model, what);
    }

    /** The credentials of the current gRPC call (set by {@link #interceptCall}). */
    static Presented presented() {
        Presented p = PRESENTED.get();
        return p == null ? new Presented(null, null, null) : p;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        String method = call.getMethodDescriptor().getFullMethodName();
        if (door == null || !(method.equals(GRPCInferenceServiceGrpc.getRepositoryModelLoadMethod().getFullMethodName())
                || method.equals(GRPCInferenceServiceGrpc.getRepositoryModelUnloadMethod().getFullMethodName()))) {
            return next.startCall(call, headers);
        }
        Context ctx = Context.current().withValue(PRESENTED, new Presented(headers.get(AUTHORIZATION), headers.get(API_KEY), null));
        return Contexts.interceptCall(ctx, call, headers, next);
    }
}
