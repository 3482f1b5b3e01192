package io.maas.router.adapters;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

import javax.net.ssl.SSLException;

import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.quarkus.vertx.http.HttpServerOptionsCustomizer;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.TrustOptions;

/**
 * The router's TLS, one policy for both ports and for the pod connections (RouterConfig.Tls):
 * <ul>
 * <li>its own gRPC port ({@link #server()}, for DataPlaneServer) and HTTP port (this customizer turns
 * TLS on for Quarkus' HTTP server itself, so the port number stays and plaintext is refused) present
 * the certificate of MAAS_TLS_CERT / MAAS_TLS_KEY, re-read on rotation;</li>
 * <li>client certificates are verified against MAAS_TLS_CLIENT_CA (REQUEST or REQUIRED); the verified
 * session is the call's {@code Grpc.TRANSPORT_ATTR_SSL_SESSION} attribute on gRPC and
 * {@code HttpServerRequest.sslSession()} on REST, where authentication maps it to a tenant;</li>
 * <li>connections to pods ({@link #pods()}, {@link #forPods(HttpClientOptions)}) verify the pods
 * against MAAS_TLS_PODS_CA and present MAAS_TLS_PODS_CERT when set.</li>
 * </ul>
 * The JDK's TLS (SslProvider.JDK) asks the key and trust managers at every handshake, which is what
 * makes rotation work without rebuilding servers or channels.
 */
@ApplicationScoped
public class RouterTls implements HttpServerOptionsCustomizer {
    private static final System.Logger LOG = System.getLogger(RouterTls.class.getName());

    @Inject
    RouterConfig config;

    private final TlsFiles files = new TlsFiles();
    private ReloadingKeyManager serverKeys;
    private ReloadingTrustManager clientCas;
    private ClientAuth clientAuth = ClientAuth.NONE;
    private SslContext server;
    private ReloadingKeyManager podKeys;
    private ReloadingTrustManager podCas;
    private SslContext pods;
    private String podServerName;

    @PostConstruct
    void init() {
        RouterConfig.Tls tls = config.tls();
        Optional<String> cert = set(tls.cert());
        Optional<String> key = set(tls.key());
        Optional<String> clientCa = set(tls.clientCa());
        String auth = tls.clientAuth().trim().toUpperCase(Locale.ROOT);
        if (cert.isPresent() != key.isPresent()) {
            throw new IllegalStateException("MAAS_TLS_CERT and MAAS_TLS_KEY go together: set both (TLS) or neither (plaintext)");
        }
        clientAuth = switch (auth) {
            case "NONE" -> ClientAuth.NONE;
            case "REQUEST" -> ClientAuth.OPTIONAL;
            case "REQUIRED" -> ClientAuth.REQUIRE;
            default -> throw new IllegalStateException("MAAS_TLS_CLIENT_AUTH must be NONE, REQUEST or REQUIRED, not " + tls.clientAuth());
        };
        if (clientCa.isPresent() && cert.isEmpty()) {
            throw new IllegalStateException("MAAS_TLS_CLIENT_CA is set but the router serves plaintext: client certificates need TLS, "
                    + "set MAAS_TLS_CERT and MAAS_TLS_KEY too");
        }
        if (clientAuth != ClientAuth.NONE && clientCa.isEmpty()) {
            throw new IllegalStateException("MAAS_TLS_CLIENT_AUTH=" + auth
                    + " needs MAAS_TLS_CLIENT_CA: the PEM CA bundle that signs the client certificates");
        }
        if (clientCa.isPresent() && clientAuth == ClientAuth.NONE) {
            throw new IllegalStateException("MAAS_TLS_CLIENT_CA is set but MAAS_TLS_CLIENT_AUTH is NONE, so no caller would send a "
                    + "certificate: set it to REQUEST (certificate or other credentials) or REQUIRED (every connection needs a certificate)");
        }
        if (tls.reloadSeconds() < 1) {
            throw new IllegalStateException("MAAS_TLS_RELOAD_SECONDS must be at least 1, not " + tls.reloadSeconds());
        }
        if (cert.isPresent()) {
            serverKeys = watch(new ReloadingKeyManager("MAAS_TLS_CERT/MAAS_TLS_KEY", Path.of(cert.get()), Path.of(key.get())));
            SslContextBuilder b = SslContextBuilder.forServer(serverKeys).clientAuth(clientAuth);
            if (clientCa.isPresent()) {
                clientCas = watch(new ReloadingTrustManager("MAAS_TLS_CLIENT_CA", Path.of(clientCa.get()), null));
                b.trustManager(clientCas);
            }
            server = build(GrpcSslContexts.configure(b, SslProvider.JDK), "the router's server TLS");
            LOG.log(System.Logger.Level.INFO, "router TLS on the gRPC and HTTP ports: {0} (serial {1}), client certificates {2}; "
                    + "files checked every {3} s", serverKeys.current().getSubjectX500Principal(),
                    serverKeys.current().getSerialNumber().toString(16),
                    clientCas == null ? "not asked for" : auth + ", verified against " + clientCa.get(), tls.reloadSeconds());
        } else {
            LOG.log(System.Logger.Level.INFO, "router serves plaintext on the gRPC and HTTP ports (MAAS_TLS_CERT not set)");
        }
        initPods(tls.pods());
        files.start(tls.reloadSeconds() * 1000L);
    }

    private void initPods(RouterConfig.Tls.Pods p) {
        Optional<String> ca = set(p.ca());
        Optional<String> cert = set(p.cert());
        Optional<String> key = set(p.key());
        if (cert.isPresent() != key.isPresent()) {
            throw new IllegalStateException("MAAS_TLS_PODS_CERT and MAAS_TLS_PODS_KEY go together: set both or neither");
        }
        boolean on = p.enabled() || ca.isPresent();
        if (!on) {
            if (cert.isPresent() || set(p.serverName()).isPresent()) {
                throw new IllegalStateException("MAAS_TLS_PODS_CERT or MAAS_TLS_PODS_SERVER_NAME is set but the router talks to pods "
                        + "in plaintext: set MAAS_TLS_PODS_ENABLED=true (and MAAS_TLS_PODS_CA to the pods' CA)");
            }
            return;
        }
        podServerName = set(p.serverName()).orElse(null);
        SslContextBuilder b = SslContextBuilder.forClient();
        if (ca.isPresent()) {
            podCas = watch(new ReloadingTrustManager("MAAS_TLS_PODS_CA", Path.of(ca.get()), podServerName));
            b.trustManager(podCas);
        }
        if (cert.isPresent()) {
            podKeys = watch(new ReloadingKeyManager("MAAS_TLS_PODS_CERT/MAAS_TLS_PODS_KEY", Path.of(cert.get()), Path.of(key.get())));
            b.keyManager(podKeys);
        }
        pods = build(GrpcSslContexts.configure(b, SslProvider.JDK), "TLS to the pods");
        LOG.log(System.Logger.Level.INFO, "TLS to the inference pods: verified against {0}{1}, {2}", ca.orElse("the JVM's default CAs"),
                podServerName == null ? " (certificates must name the pod IP)" : ", certificates must name " + podServerName,
                podKeys == null ? "no client certificate" : "presenting " + podKeys.current().getSubjectX500Principal());
    }

    private <T extends TlsFiles.Watched> T watch(T w) {
        files.watch(w);
        return w;
    }

    private static SslContext build(SslContextBuilder b, String what) {
        try {
            return b.build();
        } catch (SSLException e) {
            throw new IllegalStateException("cannot set up " + what + ": " + e.getMessage(), e);
        }
    }

    private static Optional<String> set(Optional<String> v) {
        return v.map(String::trim).filter(s -> !s.isEmpty());
    }

    /** TLS for the data-plane gRPC server; empty = plaintext. */
    public Optional<SslContext> server() {
        return Optional.ofNullable(server);
    }

    /** TLS for the gRPC channels to pods; empty = plaintext. */
    public Optional<SslContext> pods() {
        return Optional.ofNullable(pods);
    }

    /** The REST forwarder's client options, with TLS to the pods when it is on. */
    public HttpClientOptions forPods(HttpClientOptions options) {
        if (pods == null) {
            return options;
        }
        options.setSsl(true).setUseAlpn(false);
        if (podCas != null) {
            options.setTrustOptions(TrustOptions.wrap(podCas));
        }
        if (podKeys != null) {
            options.setKeyCertOptions(KeyCertOptions.wrap(podKeys));
        }
        // With a server name, podCas checks it (the pod is dialled by IP); otherwise the IP must match.
        options.setVerifyHost(podServerName == null);
        return options;
    }

    /** Quarkus' HTTP server (the REST port) serves TLS with the same certificate and client-certificate policy. */
    @Override
    public void customizeHttpServer(HttpServerOptions options) {
        if (serverKeys == null) {
            return;
        }
        options.setSsl(true).setUseAlpn(true).setKeyCertOptions(KeyCertOptions.wrap(serverKeys));
        if (clientCas != null) {
            options.setTrustOptions(TrustOptions.wrap(clientCas));
            options.setClientAuth(clientAuth == ClientAuth.REQUIRE ? io.vertx.core.http.ClientAuth.REQUIRED
                    : io.vertx.core.http.ClientAuth.REQUEST);
        }
    }

    @PreDestroy
    void close() {
        files.close();
    }
}
