package io.maas.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;

import jakarta.inject.Inject;

import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.Test;

import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.maas.proto.inference.GRPCInferenceServiceGrpc;
import io.maas.proto.inference.ModelMetadataRequest;
import io.maas.proto.inference.ServerLiveRequest;
import io.maas.proto.inference.ServerLiveResponse;
import io.maas.router.adapters.GrpcTransport;
import io.maas.router.adapters.LoopChannels;
import io.maas.router.adapters.RouterTls;
import io.maas.router.api.DataPlaneServer;
import io.maas.router.api.ProbePort;
import io.maas.testsupport.Await;
import io.maas.testsupport.TestCertificates;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContextBuilder;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * Encryption in transit on the router, over real TLS on loopback: both ports (gRPC on grpc-java's
 * Netty server, REST on Quarkus' HTTP server) serve the certificate of MAAS_TLS_CERT / MAAS_TLS_KEY
 * with client certificates REQUIRED against MAAS_TLS_CLIENT_CA, refuse plaintext and callers without a
 * certificate at the handshake, and serve a rotated certificate without a restart. The router's
 * connections to pods verify them against MAAS_TLS_PODS_CA (pods here are grpc-java servers on
 * loopback with their own certificates: this tests the router's side of the link; inference-service's
 * TLS settings are tested in its own module).
 */
@QuarkusTest
@TestProfile(RouterTlsTest.Tls.class)
class RouterTlsTest {
    static final Path DIR = Cluster.ROOT.resolve("router-service/target/test-router-tls");
    static final TestCertificates CERTS = TestCertificates.in(DIR);
    static final String POD_NAME = "maas-inference.maas.svc";

    static TestCertificates.Authority ca;
    static TestCertificates.Authority otherCa;
    static TestCertificates.Issued caller;

    public static class Tls implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            ca = CERTS.authority("ca");
            otherCa = CERTS.authority("other-ca");
            ca.server("router");
            caller = ca.client("caller", "tenant-a", URI.create("spiffe://cluster.local/ns/apps/sa/tenant-a"));
            ca.client("router-client", "maas-router");
            ca.server("pod", POD_NAME);
            otherCa.server("impostor-pod", POD_NAME);
            return Map.ofEntries(Map.entry("maas.tls.cert", CERTS.pem("router").toString()),
                    Map.entry("maas.tls.key", CERTS.key("router").toString()),
                    Map.entry("maas.tls.client-ca", ca.certificate().toString()),
                    Map.entry("maas.tls.client-auth", "REQUIRED"),
                    Map.entry("maas.tls.reload-seconds", "1"),
                    Map.entry("maas.tls.probe-port", "0"),
                    Map.entry("maas.tls.pods.ca", ca.certificate().toString()),
                    Map.entry("maas.tls.pods.server-name", POD_NAME),
                    Map.entry("maas.tls.pods.cert", CERTS.pem("router-client").toString()),
                    Map.entry("maas.tls.pods.key", CERTS.key("router-client").toString()),
                    // the front door names the caller by its certificate alone (no keys, no JWTs)
                    Map.entry("maas.auth.enabled", "true"),
                    Map.entry("maas.auth.certificates", "uri-san"));
        }
    }

    @Inject
    DataPlaneServer server;
    @Inject
    RouterTls tls;
    @Inject
    GrpcTransport transport;
    @Inject
    ProbePort probes;

    int httpPort() {
        return ConfigProvider.getConfig().getValue("quarkus.http.test-port", Integer.class);
    }

    ManagedChannel tlsChannel(TestCertificates.Issued client) throws SSLException {
        var ssl = GrpcSslContexts.forClient().trustManager(ca.certificate().toFile());
        if (client != null) {
            ssl.keyManager(client.certificate().toFile(), client.key().toFile());
        }
        return NettyChannelBuilder.forAddress("localhost", server.port()).sslContext(ssl.build()).build();
    }

    static ServerLiveResponse live(ManagedChannel channel) {
        return GRPCInferenceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
                .serverLive(ServerLiveRequest.getDefaultInstance());
    }

    static HttpResponse<String> get(SSLContext context, String url) throws IOException, InterruptedException {
        HttpClient client = HttpClient.newBuilder().sslContext(context).version(HttpClient.Version.HTTP_1_1).build();
        return client.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The certificate a fresh handshake on {@code port} presents (ALPN h2, as a gRPC client offers). */
    X509Certificate presented(int port) throws IOException {
        try (SSLSocket socket = (SSLSocket) TestCertificates.sslContext(ca, caller).getSocketFactory().createSocket("localhost", port)) {
            SSLParameters params = socket.getSSLParameters();
            params.setApplicationProtocols(new String[] {"h2", "http/1.1"});
            socket.setSSLParameters(params);
            socket.startHandshake();
            return (X509Certificate) socket.getSession().getPeerCertificates()[0];
        }
    }

    @Test
    void callersWithACertificateAreServedOnBothPorts() throws Exception {
        ManagedChannel channel = tlsChannel(caller);
        try {
            assertTrue(live(channel).getLive());
        } finally {
            channel.shutdownNow();
        }
        var response = get(TestCertificates.sslContext(ca, caller), "https://localhost:" + httpPort() + "/v2/health/live");
        assertEquals(200, response.statusCode());
    }

    /** kubelet cannot present a client certificate: the probe port answers health, and only health, in plaintext. */
    @Test
    void probePortAnswersHealthOnly() throws Exception {
        HttpClient plain = HttpClient.newHttpClient();
        String base = "http://127.0.0.1:" + probes.port();
        assertEquals(200, plain.send(HttpRequest.newBuilder(URI.create(base + "/v2/health/live")).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode());
        assertEquals(404, plain.send(HttpRequest.newBuilder(URI.create(base + "/v2/models/simple")).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode());
    }

    @Test
    void plaintextIsRefusedOnBothPorts() throws Exception {
        ManagedChannel plain = ManagedChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
        try {
            var e = assertThrows(StatusRuntimeException.class, () -> live(plain));
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.getStatus().toString());
        } finally {
            plain.shutdownNow();
        }
        // A plaintext HTTP request gets no HTTP answer: the server reads it as a broken TLS record and closes.
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", httpPort()), 10_000);
            s.setSoTimeout(20_000);
            OutputStream out = s.getOutputStream();
            out.write("GET /v2/health/live HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            byte[] answer = in.readAllBytes();
            String text = new String(answer, StandardCharsets.ISO_8859_1);
            assertFalse(text.startsWith("HTTP/"), "plaintext HTTP was answered: " + text);
        }
    }

    @Test
    void callersWithoutACertificateAreRefusedAtTheHandshake() throws Exception {
        ManagedChannel anonymous = tlsChannel(null);
        try {
            var e = assertThrows(StatusRuntimeException.class, () -> live(anonymous));
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.getStatus().toString());
        } finally {
            anonymous.shutdownNow();
        }
        assertThrows(IOException.class, () -> get(TestCertificates.sslContext(ca, null),
                "https://localhost:" + httpPort() + "/v2/health/live"));
        // A certificate from a CA the router does not trust is refused the same way.
        TestCertificates.Issued stranger = otherCa.client("stranger", "tenant-a");
        ManagedChannel forged = NettyChannelBuilder.forAddress("localhost", server.port()).sslContext(GrpcSslContexts.forClient()
                .trustManager(ca.certificate().toFile()).keyManager(stranger.certificate().toFile(), stranger.key().toFile()).build())
                .build();
        try {
            var e = assertThrows(StatusRuntimeException.class, () -> live(forged));
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.getStatus().toString());
        } finally {
            forged.shutdownNow();
        }
    }

    @Test
    void rotatedCertificateIsServedWithoutRestart() throws Exception {
        BigInteger before = presented(server.port()).getSerialNumber();
        assertEquals(before, presented(httpPort()).getSerialNumber());
        // Rewrite the files in place, as a Secret update does; open connections keep the old one.
        ManagedChannel open = tlsChannel(caller);
        try {
            assertTrue(live(open).getLive());
            BigInteger after = ca.server("router").serial();
            assertNotEquals(before, after);
            Await.until("the gRPC port to present serial " + after.toString(16), () -> presented(server.port()).getSerialNumber().equals(after));
            Await.until("the HTTP port to present serial " + after.toString(16), () -> presented(httpPort()).getSerialNumber().equals(after));
            assertTrue(live(open).getLive(), "a connection opened before the rotation still works");
        } finally {
            open.shutdownNow();
        }
        ManagedChannel fresh = tlsChannel(caller);
        try {
            assertTrue(live(fresh).getLive());
        } finally {
            fresh.shutdownNow();
        }
    }

    /**
     * With authentication on and certificates as the only credential, a caller presenting one gets past
     * the front door on both ports: an unknown model is NOT_FOUND (404), not UNAUTHENTICATED (401).
     */
    @Test
    void certificateAuthenticatesTheCallerOnBothPorts() throws Exception {
        ManagedChannel channel = tlsChannel(caller);
        try {
            var e = assertThrows(StatusRuntimeException.class, () -> GRPCInferenceServiceGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(20, TimeUnit.SECONDS).modelMetadata(ModelMetadataRequest.newBuilder().setName("nope").build()));
            assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode(), e.getStatus().toString());
        } finally {
            channel.shutdownNow();
        }
        var response = get(TestCertificates.sslContext(ca, caller), "https://localhost:" + httpPort() + "/v2/models/nope");
        assertEquals(404, response.statusCode(), response.body());
    }

    /** The verified client certificate reaches each call: what authentication maps to a tenant. */
    @Test
    void verifiedSessionIsACallAttribute() throws Exception {
        AtomicReference<SSLSession> seen = new AtomicReference<>();
        ServerInterceptor capture = new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
                seen.set(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
                return next.startCall(call, headers);
            }
        };
        var service = new GRPCInferenceServiceGrpc.GRPCInferenceServiceImplBase() {
            @Override
            public void serverLive(ServerLiveRequest request, StreamObserver<ServerLiveResponse> out) {
                out.onNext(ServerLiveResponse.newBuilder().setLive(true).build());
                out.onCompleted();
            }
        };
        // The router's own server TLS context, on a second server that records what a call sees.
        Server probe = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).sslContext(tls.server().orElseThrow())
                .addService(ServerInterceptors.intercept(service, capture)).build().start();
        ManagedChannel channel = NettyChannelBuilder.forAddress("localhost", probe.getPort()).sslContext(GrpcSslContexts.forClient()
                .trustManager(ca.certificate().toFile()).keyManager(caller.certificate().toFile(), caller.key().toFile()).build()).build();
        try {
            assertTrue(live(channel).getLive());
            X509Certificate peer = (X509Certificate) seen.get().getPeerCertificates()[0];
            assertEquals("CN=tenant-a", peer.getSubjectX500Principal().getName());
            assertTrue(peer.getSubjectAlternativeNames().stream().anyMatch(n -> n.get(1).equals("spiffe://cluster.local/ns/apps/sa/tenant-a")));
        } finally {
            channel.shutdownNow();
            probe.shutdownNow();
        }
    }

    /** A pod serving TLS with {@code certificate}, requiring a client certificate from the test CA. */
    Server pod(String certificate, AtomicReference<SSLSession> clientSession) throws IOException {
        var service = new GRPCInferenceServiceGrpc.GRPCInferenceServiceImplBase() {
            @Override
            public void serverLive(ServerLiveRequest request, StreamObserver<ServerLiveResponse> out) {
                out.onNext(ServerLiveResponse.newBuilder().setLive(true).build());
                out.onCompleted();
            }
        };
        ServerInterceptor capture = new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
                clientSession.set(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
                return next.startCall(call, headers);
            }
        };
        var ssl = GrpcSslContexts.configure(SslContextBuilder.forServer(CERTS.pem(certificate).toFile(), CERTS.key(certificate).toFile())
                .trustManager(ca.certificate().toFile()).clientAuth(ClientAuth.REQUIRE)).build();
        return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).sslContext(ssl)
                .addService(ServerInterceptors.intercept(service, capture)).build().start();
    }

    @Test
    void podsAreReachedOverMutualTls() throws Exception {
        AtomicReference<SSLSession> session = new AtomicReference<>();
        Server pod = pod("pod", session);
        LoopChannels channels = transport.open("127.0.0.1", pod.getPort());
        try {
            assertTrue(live(channels.current()).getLive());
            X509Certificate router = (X509Certificate) session.get().getPeerCertificates()[0];
            assertEquals("CN=maas-router", router.getSubjectX500Principal().getName());
        } finally {
            channels.shutdown();
            channels.awaitTermination(System.nanoTime() + TimeUnit.SECONDS.toNanos(5));
            pod.shutdownNow();
        }
    }

    /** What the trust manager logs, to check that a refusal names its cause. */
    static final class Captured extends Handler {
        final List<String> lines = new CopyOnWriteArrayList<>();
        final SimpleFormatter formatter = new SimpleFormatter();

        @Override
        public void publish(LogRecord record) {
            lines.add(formatter.formatMessage(record));
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    }

    @Test
    void podWithACertificateFromAnotherCaIsRefusedAndTheLogSaysWhy() throws Exception {
        Logger log = Logger.getLogger("io.maas.router.adapters.ReloadingTrustManager");
        Captured captured = new Captured();
        log.addHandler(captured);
        AtomicReference<SSLSession> session = new AtomicReference<>();
        Server pod = pod("impostor-pod", session);
        LoopChannels channels = transport.open("127.0.0.1", pod.getPort());
        try {
            var e = assertThrows(StatusRuntimeException.class, () -> live(channels.current()));
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.getStatus().toString());
            Await.until("a log line naming the refused pod certificate", () -> captured.lines.stream().anyMatch(l ->
                    l.contains("refused the server certificate CN=" + POD_NAME + " of 127.0.0.1:" + pod.getPort())
                            && l.contains("not trusted by MAAS_TLS_PODS_CA (" + ca.certificate() + ")")));
            assertEquals(null, session.get(), "no call reached the impostor");
        } finally {
            log.removeHandler(captured);
            channels.shutdown();
            channels.awaitTermination(System.nanoTime() + TimeUnit.SECONDS.toNanos(5));
            pod.shutdownNow();
        }
    }
}
