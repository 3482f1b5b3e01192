package io.maas.inference.api;

import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import io.quarkus.vertx.http.HttpServerOptionsCustomizer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;

/**
 * TLS on the HTTP port itself (REST, health, /metrics) with the certificate the gRPC port serves
 * (MAAS_TLS_CERT / MAAS_TLS_KEY). Quarkus' own HTTPS would open a second port; Triton's layout and the
 * router's REST forwarding expect TLS on the HTTP port, so plaintext there is refused instead.
 */
@ApplicationScoped
public class HttpTls implements HttpServerOptionsCustomizer {

    @ConfigProperty(name = "maas.tls.cert")
    Optional<String> cert;
    @ConfigProperty(name = "maas.tls.key")
    Optional<String> key;

    @Override
    public void customizeHttpServer(HttpServerOptions options) {
        Optional<String> c = cert.filter(s -> !s.isBlank());
        Optional<String> k = key.filter(s -> !s.isBlank());
        if (c.isPresent() != k.isPresent()) {
            throw new IllegalStateException("MAAS_TLS_CERT and MAAS_TLS_KEY go together: set both (TLS) or neither (plaintext)");
        }
        if (c.isPresent()) {
            options.setSsl(true).setUseAlpn(true).setKeyCertOptions(new PemKeyCertOptions().setCertPath(c.get()).setKeyPath(k.get()));
        }
    }
}
