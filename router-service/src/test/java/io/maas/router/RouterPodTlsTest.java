package io.maas.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.maas.proto.inference.GRPCInferenceServiceGrpc;
import io.maas.proto.inference.ServerReadyRequest;
import io.maas.router.api.DataPlaneServer;
import io.maas.testsupport.FreePorts;
import io.maas.testsupport.TestCertificates;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The router reaching a real inference-service process that serves TLS on both ports
 * (MAAS_TLS_CERT / MAAS_TLS_KEY, a certificate naming only the Service-like name the router
 * verifies, MAAS_TLS_PODS_SERVER_NAME, while the pod is dialled by IP): a gRPC ModelInfer and a REST
 * infer through the router are answered by the pod over TLS.
 */
@QuarkusTest
@QuarkusTestResource(value = RouterPodTlsTest.TlsPod.class, restrictToAnnotatedClass = true)
class RouterPodTlsTest {
    static final Path WORK = Cluster.ROOT.resolve("router-service/target/it-pod-tls");
    static final String POD_NAME = "maas-inference.maas.svc";
    static final int POD_GRPC = FreePorts.take();
    static final int POD_HTTP = FreePorts.take();

    public static class TlsPod implements QuarkusTestResourceLifecycleManager {
        Process pod;

        @Override
        public Map<String, String> start() {
            try {
                Cluster.deleteTree(WORK);
                Files.createDirectories(WORK.resolve("repo"));
                Files.createSymbolicLink(WORK.resolve("repo/simple"), Cluster.ROOT.resolve("models/target/repository/simple"));
                TestCertificates certs = TestCertificates.in(WORK.resolve("certs"));
                TestCertificates.Authority ca = certs.authority("ca");
                TestCertificates.Issued cert = ca.certificate("pod").commonName(POD_NAME).dns(POD_NAME).serverAuth().issue();
                pod = Cluster.java(Cluster.ROOT.resolve("inference-service/target/quarkus-app/quarkus-run.jar"),
                        List.of("--model-repository", WORK.resolve("repo").toString()),
                        Map.of("MAAS_GRPC_PORT", "" + POD_GRPC, "MAAS_HTTP_PORT", "" + POD_HTTP, "MAAS_ONNX_INTRA_OP_THREADS", "1",
                                "ORT_DISABLE_TELEMETRY", "1", "MAAS_TLS_CERT", cert.certificate().toString(),
                                "MAAS_TLS_KEY", cert.key().toString()),
                        WORK.resolve("inference.log"));
                ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", POD_GRPC).overrideAuthority(POD_NAME)
                        .sslContext(GrpcSslContexts.forClient().trustManager(ca.certificate().toFile()).build()).build();
                try {
                    Cluster.await("TLS inference on " + POD_GRPC, () -> GRPCInferenceServiceGrpc.newBlockingStub(ch)
                            .withDeadlineAfter(2, TimeUnit.SECONDS).serverReady(ServerReadyRequest.getDefaultInstance()).getReady());
                } finally {
                    ch.shutdownNow();
                }
                return Map.of("maas.endpoints.source", "static",
                        "maas.static-endpoints", "simple:1=127.0.0.1:" + POD_GRPC + "/" + POD_HTTP,
                        "maas.tls.pods.ca", ca.certificate().toString(),
                        "maas.tls.pods.server-name", POD_NAME);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void stop() {
            Cluster.stop(pod);
        }
    }

    @Inject
    DataPlaneServer server;

    @Test
    void grpcCallReachesATlsPod() {
        ManagedChannel router = ManagedChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
        try {
            var response = GRPCInferenceServiceGrpc.newBlockingStub(router).withDeadlineAfter(30, TimeUnit.SECONDS)
                    .modelInfer(RouterTest.request("1"));
            assertEquals("1", response.getModelVersion());
            assertEquals(2, response.getOutputsCount());
        } finally {
            router.shutdownNow();
        }
    }

    @Test
    void restCallReachesATlsPod() throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + io.restassured.RestAssured.port
                + "/v2/models/simple/versions/1/infer")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(RouterTest.jsonRequest())).build();
        HttpResponse<String> response = RouterTest.HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), response.body());
        assertTrue(response.body().contains("OUTPUT0"), response.body());
    }
}
