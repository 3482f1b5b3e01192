package io.maas.registry.api;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.maas.maasctl.Maasctl;
import io.maas.proto.registry.CreateModelRequest;
import io.maas.proto.registry.ListAuditRequest;
import io.maas.proto.registry.ListModelsRequest;
import io.maas.testsupport.TestCertificates;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.Test;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.X509ExtendedKeyManager;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.security.KeyFactory;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Function;

import static io.maas.registry.api.GrpcTestClient.refused;
import static io.maas.registry.api.GrpcTestClient.uniqueModel;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Client certificates as credentials (MAAS_GRPC_TLS_CLIENT_CA, client auth REQUEST), over real TLS on loopback: a
 * certificate whose CN is a subject of the tokens file acts as that subject without a token;
 * token-only clients keep working on the same port.
 */
@QuarkusTest
@TestProfile(MtlsGrpcTest.Mtls.class)
class MtlsGrpcTest {
    static final TestCertificates CERTS = TestCertificates.in(Path.of("target/test-mtls"));

    public static class Mtls implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            TestCertificates.Authority ca = CERTS.authority("ca");
            ca.server("server");
            ca.client("ci-bot", "ci-bot");
            ca.client("dashboard", "dashboard");
            ca.client("stranger", "stranger");
            CERTS.authority("other-ca").client("forged-ci-bot", "ci-bot");
            Path tokens = CERTS.dir().resolve("tokens.txt");
            try {
                Files.writeString(tokens, """
                        ops-alice:admin:alice-secret
                        # certificate only
                        ci-bot:writer:
                        dashboard:reader
                        """);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return Map.of("quarkus.grpc.server.ssl.certificate", CERTS.pem("server").toString(),
                    "quarkus.grpc.server.ssl.key", CERTS.key("server").toString(),
                    ClientCertificates.CLIENT_CA, CERTS.pem("ca").toString(),
                    "quarkus.grpc.server.ssl.client-auth", "REQUEST",
                    "maas.registry.tokens-file", tokens.toString(),
                    "maas.registry.data-dir", "target/test-registry-mtls-" + System.nanoTime());
        }
    }

    /** A TLS channel trusting the test CA, presenting {@code certificate} if not null. */
    private static ManagedChannel channel(String certificate) throws SSLException {
        var ssl = GrpcSslContexts.forClient().trustManager(CERTS.pem("ca").toFile());
        if (certificate != null) {
            ssl.keyManager(CERTS.pem(certificate).toFile(), CERTS.key(certificate).toFile());
        }
        return NettyChannelBuilder.forAddress("localhost", GrpcTestClient.port()).sslContext(ssl.build()).build();
    }

    private static <T> T withChannel(String certificate, Function<ManagedChannel, T> call) throws SSLException {
        ManagedChannel channel = channel(certificate);
        try {
            return call.apply(channel);
        } finally {
            channel.shutdownNow();
        }
    }

    private static Void create(ManagedChannel channel, String token, String model) {
        GrpcTestClient.stub(channel, token).createModel(CreateModelRequest.newBuilder().setName(model).build());
        return null;
    }

    @Test
    void certificateAloneAuthenticatesItsSubject() throws Exception {
        String m = uniqueModel("mtls");
        withChannel("ci-bot", ch -> create(ch, null, m));
        var audit = withChannel(null, ch -> GrpcTestClient.stub(ch, "alice-secret")
                .listAudit(ListAuditRequest.newBuilder().setModel(m).build()));
        assertEquals("ci-bot", audit.getRecords(0).getActor());
    }

    @Test
    void certificatesThatNameNoWriterAreRefused() throws Exception {
        String m = uniqueModel("mtls-refused");
        withChannel("stranger", ch -> {
            refused(Status.Code.PERMISSION_DENIED, "'stranger' is not listed in the registry's tokens file", () -> create(ch, null, m));
            return null;
        });
        withChannel("dashboard", ch -> {
            refused(Status.Code.PERMISSION_DENIED, "'dashboard' has role reader", () -> create(ch, null, m));
            // a reader's certificate still reads
            GrpcTestClient.stub(ch, null).listModels(ListModelsRequest.getDefaultInstance());
            return null;
        });
        withChannel(null, ch -> {
            refused(Status.Code.UNAUTHENTICATED, "need a token", () -> create(ch, null, m));
            return null;
        });
    }

    @Test
    void certificateFromAnotherCaIsNotAccepted() throws Exception {
        // A standard client offers only a certificate issued by a CA the server names in its
        // request, so it sends none here and is an anonymous caller.
        withChannel("forged-ci-bot", ch -> {
            refused(Status.Code.UNAUTHENTICATED, "or a client certificate the registry trusts", () -> create(ch, null, uniqueModel("forged")));
            return null;
        });
        // A client that sends it anyway fails the handshake: the call never reaches the registry.
        ManagedChannel forced = NettyChannelBuilder.forAddress("localhost", GrpcTestClient.port()).sslContext(GrpcSslContexts.forClient()
                .trustManager(CERTS.pem("ca").toFile()).keyManager(alwaysOffering("forged-ci-bot")).build()).build();
        try {
            var e = assertThrows(StatusRuntimeException.class, () -> create(forced, null, uniqueModel("forged")));
            assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.getStatus().toString());
        } finally {
            forced.shutdownNow();
        }
    }

    /** Offers the certificate whichever CAs the server asks for, as a careless or hostile client would. */
    private static KeyManager alwaysOffering(String name) throws Exception {
        X509Certificate cert;
        try (var in = Files.newInputStream(CERTS.pem(name))) {
            cert = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
        String pkcs8 = Files.readString(CERTS.key(name)).replaceAll("-----[A-Z ]+-----|\\s", "");
        PrivateKey key = KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(pkcs8)));
        return new X509ExtendedKeyManager() {
            @Override
            public String[] getClientAliases(String keyType, Principal[] issuers) {
                return new String[] {name};
            }

            @Override
            public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
                return name;
            }

            @Override
            public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
                return name;
            }

            @Override
            public String[] getServerAliases(String keyType, Principal[] issuers) {
                return null;
            }

            @Override
            public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
                return null;
            }

            @Override
            public X509Certificate[] getCertificateChain(String alias) {
                return new X509Certificate[] {cert};
            }

            @Override
            public PrivateKey getPrivateKey(String alias) {
                return key;
            }
        };
    }

    @Test
    void tokenMustNameTheCertificatesSubject() throws Exception {
        String m = uniqueModel("mtls-mixed");
        withChannel("ci-bot", ch -> {
            refused(Status.Code.UNAUTHENTICATED, "the bearer token belongs to 'ops-alice' but the client certificate to 'ci-bot'",
                    () -> create(ch, "alice-secret", m));
            refused(Status.Code.UNAUTHENTICATED, "unknown token", () -> create(ch, "guess", m));
            return null;
        });
    }

    @Test
    void tokenOnlyClientsStillWork() throws Exception {
        String m = uniqueModel("mtls-token");
        withChannel(null, ch -> create(ch, "alice-secret", m));
        refused(Status.Code.UNAUTHENTICATED, "unknown token", () -> {
            try {
                withChannel(null, ch -> create(ch, "bot-secret", m + "-b"));
            } catch (SSLException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Test
    void maasctlUsesAClientCertificate() {
        String m = uniqueModel("mtls-cli");
        var err = new StringWriter();
        int code = Maasctl.run(new String[] {"register", "--registry=localhost:" + GrpcTestClient.port(), "--ca=" + CERTS.pem("ca"),
                "--cert=" + CERTS.pem("ci-bot"), "--key=" + CERTS.key("ci-bot"), m, "1", "--artifact", "file:///x",
                "--sha256", GrpcTestClient.SHA, "--input", "x:FP32:-1"}, new PrintWriter(new StringWriter()), new PrintWriter(err));
        assertEquals(0, code, err.toString());
        int usage = Maasctl.run(new String[] {"list", "--registry=localhost:" + GrpcTestClient.port(), "--cert=" + CERTS.pem("ci-bot")},
                new PrintWriter(new StringWriter()), new PrintWriter(err));
        assertEquals(2, usage);
        assertTrue(err.toString().contains("--cert and --key go together"), err.toString());
    }
}
