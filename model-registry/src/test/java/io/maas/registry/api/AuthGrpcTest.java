package io.maas.registry.api;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.maas.maasctl.Maasctl;
import io.maas.proto.registry.CreateModelRequest;
import io.maas.proto.registry.GetModelRequest;
import io.maas.proto.registry.ListAuditRequest;
import io.maas.proto.registry.SetRoutingRequest;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static io.maas.registry.api.GrpcTestClient.refused;
import static io.maas.registry.api.GrpcTestClient.uniqueModel;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Token auth: writes need writer/admin, readers are refused writes, reads are open. */
@QuarkusTest
@TestProfile(AuthGrpcTest.Tokens.class)
class AuthGrpcTest {

    static final Path TOKENS = Path.of("target/test-tokens.txt");
    static final String BASE_TOKENS = """
            # subject:role:token
            ops-alice:admin:alice-secret
            ci-bot:writer:bot-secret
            dashboard:reader:reader-secret
            """;

    public static class Tokens implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            try {
                Files.writeString(TOKENS, BASE_TOKENS + "temp-job:writer:temp-secret\n");
                return Map.of("maas.registry.tokens-file", TOKENS.toString(), "maas.registry.tokens-reload-interval", "1",
                        "maas.registry.data-dir", "target/test-registry-auth-" + System.nanoTime());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    static ManagedChannel channel;

    @BeforeAll
    static void connect() {
        channel = GrpcTestClient.channel();
    }

    @AfterAll
    static void disconnect() {
        channel.shutdownNow();
    }

    private static void create(String token, String model) {
        GrpcTestClient.stub(channel, token).createModel(CreateModelRequest.newBuilder().setName(model).build());
    }

    @Test
    void writesNeedAWriterToken() {
        String m = uniqueModel("auth");
        refused(Status.Code.UNAUTHENTICATED, "need a token", () -> create(null, m));
        refused(Status.Code.UNAUTHENTICATED, "unknown token", () -> create("guess", m));
        refused(Status.Code.PERMISSION_DENIED, "role reader", () -> create("reader-secret", m));
        refused(Status.Code.PERMISSION_DENIED, "role reader", () -> GrpcTestClient.stub(channel, "reader-secret")
                .setRouting(SetRoutingRequest.newBuilder().setModel(m).setStableVersion("1").build()));
        create("bot-secret", m);
        GrpcTestClient.createWithVersions(GrpcTestClient.stub(channel, "alice-secret"), uniqueModel("admin"), "1");

        // Reads are open without a token, but a wrong token is still refused.
        assertEquals("ci-bot", GrpcTestClient.stub(channel, null).getModel(GetModelRequest.newBuilder().setName(m).build()).getCreatedBy());
        refused(Status.Code.UNAUTHENTICATED, "unknown token", () -> GrpcTestClient.stub(channel, "guess")
                .getModel(GetModelRequest.newBuilder().setName(m).build()));
        var audit = GrpcTestClient.stub(channel, "reader-secret").listAudit(ListAuditRequest.newBuilder().setModel(m).build());
        assertEquals("ci-bot", audit.getRecords(0).getActor());
        assertEquals(1, audit.getRecordsCount(), "refused writes leave no audit record");
    }

    @Test
    void maasctlSendsItsToken() {
        String m = uniqueModel("authcli");
        var err = new StringWriter();
        int refusedCode = Maasctl.run(new String[] {"register", "--registry=127.0.0.1:" + GrpcTestClient.port(), m, "1", "--artifact",
                "file:///x", "--sha256", GrpcTestClient.SHA, "--input", "x:FP32:-1"}, new PrintWriter(new StringWriter()), new PrintWriter(err));
        assertEquals(1, refusedCode);
        assertTrue(err.toString().contains("UNAUTHENTICATED"), err.toString());
        int code = Maasctl.run(new String[] {"register", "--registry=127.0.0.1:" + GrpcTestClient.port(), "--token=bot-secret", m, "1",
                "--artifact", "file:///x", "--sha256", GrpcTestClient.SHA, "--input", "x:FP32:-1"}, new PrintWriter(new StringWriter()),
                new PrintWriter(err));
        assertEquals(0, code, err.toString());
    }

    @Test
    void tokensFileChangesApplyWithoutRestart() throws Exception {
        String m = uniqueModel("reload");
        create("temp-secret", m + "-a");
        try {
            // a Secret update: one token revoked, one added
            Files.writeString(TOKENS, BASE_TOKENS + "new-job:writer:new-secret\n");
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (true) {
                try {
                    create("new-secret", m + "-b");
                    break;
                } catch (StatusRuntimeException e) {
                    assertTrue(System.nanoTime() < deadline, "the new token is still refused: " + e.getStatus());
                    Thread.sleep(100);
                }
            }
            refused(Status.Code.UNAUTHENTICATED, "unknown token", () -> create("temp-secret", m + "-c"));

            // a file that does not parse keeps the tokens in force
            Files.writeString(TOKENS, BASE_TOKENS + "broken line without roles\n");
            Thread.sleep(2500);
            create("new-secret", m + "-d");
            refused(Status.Code.UNAUTHENTICATED, "unknown token", () -> create("temp-secret", m + "-e"));
        } finally {
            Files.writeString(TOKENS, BASE_TOKENS + "temp-job:writer:temp-secret\n");
        }
    }

    @Test
    void trafficReportsAndRolloutCommandsAreWrites() {
        var report = io.maas.proto.registry.ReportTrafficRequest.newBuilder().setRouter("r").addVersions(
                io.maas.proto.registry.VersionTraffic.newBuilder().setModel("m").setVersion("1").setCalls(1)).build();
        refused(Status.Code.UNAUTHENTICATED, "need a token", () -> GrpcTestClient.stub(channel, null).reportTraffic(report));
        refused(Status.Code.PERMISSION_DENIED, "role reader", () -> GrpcTestClient.stub(channel, "reader-secret").reportTraffic(report));
        GrpcTestClient.stub(channel, "bot-secret").reportTraffic(report);
        refused(Status.Code.INVALID_ARGUMENT, "need 0 <= server_faults <= calls", () -> GrpcTestClient.stub(channel, "bot-secret")
                .reportTraffic(report.toBuilder().setVersions(0, report.getVersions(0).toBuilder().setServerFaults(2)).build()));
        var abort = io.maas.proto.registry.ControlRolloutRequest.newBuilder().setModel("m")
                .setAction(io.maas.proto.registry.ControlRolloutRequest.Action.ABORT).build();
        refused(Status.Code.PERMISSION_DENIED, "role reader", () -> GrpcTestClient.stub(channel, "reader-secret").controlRollout(abort));
        refused(Status.Code.NOT_FOUND, "has no rollout", () -> GrpcTestClient.stub(channel, "bot-secret").controlRollout(abort));
        refused(Status.Code.NOT_FOUND, "has no rollout", () -> GrpcTestClient.stub(channel, null)
                .getRollout(io.maas.proto.registry.GetRolloutRequest.newBuilder().setModel("m").build()));
    }
}
