package io.maas.inference.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.Test;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.maas.proto.inference.GRPCInferenceServiceGrpc;
import io.maas.proto.inference.ServerLiveRequest;
import io.maas.testsupport.TestCertificates;
import io.quarkus.grpc.runtime.GrpcServer;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * TLS on a pod's two ports (MAAS_TLS_CERT / MAAS_TLS_KEY), over real TLS on loopback: a client that
 * trusts the CA is served on gRPC and HTTP (the HTTP probe paths included, as kubelet's HTTPS probes
 * use them), plaintext is refused on both.
 */
@QuarkusTest
@TestProfile(InferenceTlsTest.Tls.class)
class InferenceTlsTest {
    static final Path DIR = Path.of("target/test-inference-tls");
    static TestCertificates.Authority ca;

    public static class Tls implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            TestCertificates certs = TestCertificates.in(DIR);
            ca = certs.authority("ca");
            // as the chart's cert-manager Certificate names a pod: the inference Service's DNS name
            var pod = ca.certificate("pod").commonName("maas-inference.maas.svc").dns("maas-inference.maas.svc").dns("localhost")
                    .ip("127.0.0.1").serverAuth().issue();
            return Map.of("maas.tls.cert", pod.certificate().toString(), "maas.tls.key", pod.key().toString());
        }
    }

    @Inject
    GrpcServer grpcServer;

    int httpPort() {
        return ConfigProvider.getConfig().getValue("quarkus.http.test-port", Integer.class);
    }

    static boolean live(ManagedChannel channel) {
        return GRPCInferenceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
                .serverLive(ServerLiveRequest.getDefaultInstance()).getLive();
    }

    @Test
    void grpcServesTlsAndRefusesPlaintext() throws Exception {
        ManagedChannel tls = NettyChannelBuilder.forAddress("localhost", grpcServer.getPort())
                .sslContext(GrpcSslContexts.forClient().trustManager(ca.certificate().toFile()).build()).build();
        ManagedChannel plain = ManagedChannelBuilder.forAddress("127.0.0.1", grpcServer.getPort()).usePlaintext().build();
        try {
            assertTrue(live(tls));
            var e = assertThrows(StatusRuntimeException.class, () -> live(plain));
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.getStatus().toString());
        } finally {
            tls.shutdownNow();
            plain.shutdownNow();
        }
    }

    @Test
    void httpServesTlsOnItsOwnPortAndRefusesPlaintext() throws Exception {
        HttpClient https = HttpClient.newBuilder().sslContext(TestCertificates.sslContext(ca, null)).build();
        var ready = https.send(HttpRequest.newBuilder(URI.create("https://localhost:" + httpPort() + "/v2/health/live")).build(),
                HttpResponse.BodyHandlers.discarding());
        assertEquals(200, ready.statusCode());
        HttpClient plain = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        assertThrows(IOException.class, () -> plain.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort()
                + "/v2/health/live")).build(), HttpResponse.BodyHandlers.discarding()));
    }
}
