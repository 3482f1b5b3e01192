package io.maas.registry.api;

import io.quarkus.grpc.api.ServerBuilderCustomizer;
import io.quarkus.grpc.runtime.config.GrpcServerConfiguration;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.grpc.VertxServerBuilder;
import jakarta.enterprise.context.ApplicationScoped;
import org.eclipse.microprofile.config.inject.ConfigProperty;

import java.util.Optional;

/**
 * Verifies client certificates against the PEM CA bundle in {@code MAAS_GRPC_TLS_CLIENT_CA}
 * (property {@value #CLIENT_CA}); whether the server asks for them is
 * {@code MAAS_GRPC_TLS_CLIENT_AUTH} ({@code quarkus.grpc.server.ssl.client-auth}). Quarkus's own
 * {@code quarkus.grpc.server.ssl.trust-store} takes only JKS/PKCS12 with a password, so the PEM
 * bundle is set on the server's TLS options here. The two settings are checked against each
 * other at start, since either alone is a silent misconfiguration. AuthInterceptor maps the
 * verified certificate to a subject.
 */
@ApplicationScoped
public class ClientCertificates implements ServerBuilderCustomizer<VertxServerBuilder> {

    static final String CLIENT_CA = "maas.grpc.tls-client-ca";
    private static final System.Logger LOG = System.getLogger(ClientCertificates.class.getName());

    @ConfigProperty(name = CLIENT_CA)
    Optional<String> clientCa;

    @Override
    public void customize(GrpcServerConfiguration config, VertxServerBuilder builder) {
        var ssl = config.ssl();
        boolean tls = ssl.certificate().isPresent() || ssl.keyStore().isPresent();
        String ca = clientCa.filter(s -> !s.isBlank()).orElse(null);
        if (ca == null) {
            if (tls && ssl.clientAuth() != ClientAuth.NONE && ssl.trustStore().isEmpty()) {
                // Vert.x would then verify client certificates against the JVM's public CAs.
                throw new IllegalStateException("MAAS_GRPC_TLS_CLIENT_AUTH=" + ssl.clientAuth()
                        + " needs MAAS_GRPC_TLS_CLIENT_CA: the PEM CA bundle that signs the client certificates");
            }
            return;
        }
        if (!tls) {
            throw new IllegalStateException("MAAS_GRPC_TLS_CLIENT_CA is set but the gRPC port serves plaintext: "
                    + "client certificates need TLS, set MAAS_GRPC_TLS_CERT and MAAS_GRPC_TLS_KEY too");
        }
        if (ssl.trustStore().isPresent()) {
            throw new IllegalStateException("MAAS_GRPC_TLS_CLIENT_CA and quarkus.grpc.server.ssl.trust-store are both set: keep one");
        }
        if (ssl.clientAuth() == ClientAuth.NONE) {
            throw new IllegalStateException("MAAS_GRPC_TLS_CLIENT_CA is set but MAAS_GRPC_TLS_CLIENT_AUTH is NONE, so no client "
                    + "would send a certificate: set it to REQUEST (certificate or token) or REQUIRED (every connection needs a certificate)");
        }
        // Quarkus applies its ssl.* settings to the same options afterwards; with no trust-store
        // configured it leaves these trust options alone.
        builder.useSsl(options -> options.setTrustOptions(new PemTrustOptions().addCertPath(ca)));
        LOG.log(System.Logger.Level.INFO, "registry auth: client certificates verified against {0} are accepted; "
                + "the certificate's subject CN names a subject of the tokens file", ca);
    }
}
