package io.maas.registry.api;

import io.quarkus.grpc.runtime.config.GrpcServerConfiguration;
import io.quarkus.grpc.runtime.config.GrpcServerConfiguration.SslServerConfig;
import io.vertx.core.http.ClientAuth;
import io.vertx.grpc.VertxServerBuilder;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The start-up checks between MAAS_GRPC_TLS_CLIENT_CA, MAAS_GRPC_TLS_CLIENT_AUTH and TLS. */
class ClientCertificatesTest {

    private static GrpcServerConfiguration config(boolean tls, ClientAuth clientAuth) {
        SslServerConfig ssl = (SslServerConfig) Proxy.newProxyInstance(ClientCertificatesTest.class.getClassLoader(), new Class<?>[] {SslServerConfig.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "certificate" -> tls ? Optional.of(Path.of("server.pem")) : Optional.empty();
                    case "clientAuth" -> clientAuth;
                    default -> Optional.empty();
                });
        return (GrpcServerConfiguration) Proxy.newProxyInstance(ClientCertificatesTest.class.getClassLoader(), new Class<?>[] {GrpcServerConfiguration.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("ssl")) {
                        return ssl;
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
    }

    private static String refusal(String ca, boolean tls, ClientAuth clientAuth) {
        var c = new ClientCertificates();
        c.clientCa = Optional.ofNullable(ca);
        // refusals happen before the builder is touched
        return assertThrows(IllegalStateException.class, () -> c.customize(config(tls, clientAuth), (VertxServerBuilder) null)).getMessage();
    }

    @Test
    void eachSettingAloneIsRefusedAtStart() {
        assertTrue(refusal("ca.pem", true, ClientAuth.NONE).contains("set it to REQUEST"));
        assertTrue(refusal("ca.pem", false, ClientAuth.REQUEST).contains("serves plaintext"));
        assertTrue(refusal(null, true, ClientAuth.REQUEST).contains("needs MAAS_GRPC_TLS_CLIENT_CA"));
    }

    @Test
    void neitherSettingLeavesTheServerAlone() {
        var c = new ClientCertificates();
        c.clientCa = Optional.empty();
        assertDoesNotThrow(() -> c.customize(config(true, ClientAuth.NONE), (VertxServerBuilder) null));
        assertDoesNotThrow(() -> c.customize(config(false, ClientAuth.NONE), (VertxServerBuilder) null));
    }
}
