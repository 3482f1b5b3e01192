package io.maas.registry.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.maas.proto.registry.ListModelsRequest;
import io.maas.proto.registry.ModelRegistryGrpc;
import io.maas.testsupport.TestCertificates;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * TLS on the registry's gRPC port, configured the way the chart and the docs do it
 * (MAAS_GRPC_TLS_CERT / MAAS_GRPC_TLS_KEY): a client that trusts the certificate gets answers,
 * a plaintext client does not. The throwaway CA and certificate come from test-support's TestCertificates.
 */
@QuarkusTest
@TestProfile(TlsGrpcTest.Tls.class)
class TlsGrpcTest {
    static final Path DIR = Path.of("target/test-tls");

    public static class Tls implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            var server = TestCertificates.in(DIR).authority("ca").server("server");
            return Map.of("quarkus.grpc.server.ssl.certificate", server.certificate().toString(),
                    "quarkus.grpc.server.ssl.key", server.key().toString(),
                    "quarkus.grpc.server.plain-text", "false",
                    "maas.registry.data-dir", "target/test-registry-tls-" + System.nanoTime());
        }
    }

    @Test
    void trustedTlsClientIsServedAndPlaintextIsNot() throws Exception {
        ManagedChannel tls = NettyChannelBuilder.forAddress("localhost", GrpcTestClient.port())
                .sslContext(GrpcSslContexts.forClient().trustManager(DIR.resolve("ca.pem").toFile()).build())
                .build();
        ManagedChannel plain = ManagedChannelBuilder.forAddress("127.0.0.1", GrpcTestClient.port()).usePlaintext().build();
        try {
            var models = ModelRegistryGrpc.newBlockingStub(tls).withDeadlineAfter(20, TimeUnit.SECONDS)
                    .listModels(ListModelsRequest.getDefaultInstance());
            assertEquals(0, models.getModelsCount());
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> ModelRegistryGrpc
                    .newBlockingStub(plain).withDeadlineAfter(5, TimeUnit.SECONDS)
                    .listModels(ListModelsRequest.getDefaultInstance()));
            assertTrue(e.getStatus().getCode() == io.grpc.Status.Code.UNAVAILABLE
                    || e.getStatus().getCode() == io.grpc.Status.Code.INTERNAL
                    || e.getStatus().getCode() == io.grpc.Status.Code.DEADLINE_EXCEEDED, e.getStatus().toString());
        } finally {
            tls.shutdownNow();
            plain.shutdownNow();
        }
    }
}
