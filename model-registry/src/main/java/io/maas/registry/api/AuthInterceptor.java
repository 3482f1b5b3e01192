package io.maas.registry.api;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.maas.proto.registry.ModelRegistryGrpc;
import io.maas.auth.AuthException;
import io.maas.auth.CertificateIdentity;
import io.maas.auth.Presented;
import io.maas.registry.domain.Actor;
import io.maas.registry.domain.RegistryException;
import io.quarkus.grpc.GlobalInterceptor;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Optional;
import java.util.Set;

/**
 * Authenticates registry calls from the {@code authorization: Bearer <token>} metadata and from a
 * client certificate verified during the TLS handshake (see {@link ClientCertificates}), and
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
            actor = runtime.accessPolicy().authorize(certificateSubject(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION)),
                    bearer(headers.get(AUTHORIZATION)), WRITES.contains(method.getBareMethodName()));
        } catch (RegistryException e) {
            call.close(GrpcErrors.status(e).withDescription(e.getMessage()), new Metadata());
            return new ServerCall.Listener<>() { };
        }
        return Contexts.interceptCall(Context.current().withValue(ACTOR, actor), call, headers, next);
    }

    /**
     * The subject CN of the peer's certificate. The handshake already verified it against
     * MAAS_GRPC_TLS_CLIENT_CA (ClientCertificates refuses to start asking for certificates without
     * it), so its CN names the caller: the shared {@link CertificateIdentity}, as on the router.
     */
    static Optional<String> certificateSubject(SSLSession session) {
        if (session == null) {
            return Optional.empty();
        }
        Certificate[] chain;
        try {
            chain = session.getPeerCertificates();
        } catch (SSLPeerUnverifiedException e) {
            return Optional.empty(); // no certificate sent: token or anonymous
        }
        if (chain.length == 0 || !(chain[0] instanceof X509Certificate leaf)) {
            return Optional.empty();
        }
        try {
            return Optional.of(CertificateIdentity.commonName(leaf));
        } catch (AuthException e) {
            throw new RegistryException(RegistryException.Kind.UNAUTHENTICATED, e.getMessage()
                    + ": the registry maps the CN to a subject of its tokens file");
        }
    }

    private static Optional<String> bearer(String header) {
        String token = new Presented(header, null, null).bearer();
        // A malformed header ("" from Presented) is a wrong credential, not an absent one.
        return token == null ? Optional.empty() : Optional.of(token.isEmpty() ? "\0malformed" : token);
    }
}
