package io.maas.registry.it;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;
import io.maas.proto.registry.CreateModelRequest;
import io.maas.proto.registry.GetRoutingRequest;
import io.maas.proto.registry.GetVersionRequest;
import io.maas.proto.registry.ListAuditRequest;
import io.maas.proto.registry.ModelRegistryGrpc;
import io.maas.proto.registry.RegisterVersionRequest;
import io.maas.proto.registry.SetRoutingRequest;
import io.maas.proto.registry.TensorSpec;
import io.maas.registry.adapters.PostgresSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Kills the registry process with SIGKILL in the middle of a stream of writes, restarts it on
 * the same store, and checks that every write it acknowledged is still there.
 */
class DurabilityIT {

    private static final String SHA = "ef".repeat(32);

    @Test
    void acknowledgedWritesSurviveSigkillOnH2(@TempDir Path dir) throws Exception {
        survivesSigkill(Map.of("MAAS_REGISTRY_DB_KIND", "h2", "MAAS_REGISTRY_DATA_DIR", dir.resolve("data").toString()), dir);
    }

    @Test
    void acknowledgedWritesSurviveSigkillOnPostgres(@TempDir Path dir) throws Exception {
        var pg = PostgresSupport.freshDatabase();
        survivesSigkill(Map.of("MAAS_REGISTRY_DB_KIND", "postgresql", "MAAS_REGISTRY_DB_URL", pg.url(),
                "MAAS_REGISTRY_DB_USER", pg.user(), "MAAS_REGISTRY_DB_PASSWORD", pg.password()), dir);
    }

    private void survivesSigkill(Map<String, String> env, Path dir) throws Exception {
        Path log = dir.resolve("registry.log");
        List<String> ackedVersions = new CopyOnWriteArrayList<>();
        List<Long> ackedRevisions = new CopyOnWriteArrayList<>();
        try (var registry = RegistryProcess.start(env, log)) {
            ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", registry.grpcPort).usePlaintext().build();
            var stub = ModelRegistryGrpc.newBlockingStub(channel);
            stub.createModel(CreateModelRequest.newBuilder().setName("durable").build());
            register(stub, "base");
            register(stub, "canary");
            var halfway = new CountDownLatch(1);
            // Two writers: new versions, and routing changes; each records only what was acknowledged.
            Thread versions = new Thread(() -> {
                for (int i = 0; ; i++) {
                    try {
                        register(stub.withDeadlineAfter(10, TimeUnit.SECONDS), "v" + i);
                        ackedVersions.add("v" + i);
                    } catch (StatusRuntimeException e) {
                        return; // the process died under us
                    }
                    if (i == 40) {
                        halfway.countDown();
                    }
                }
            });
            Thread routing = new Thread(() -> {
                for (int w = 0; ; w = (w + 1) % 101) {
                    try {
                        ackedRevisions.add(stub.withDeadlineAfter(10, TimeUnit.SECONDS).setRouting(SetRoutingRequest.newBuilder()
                                .setModel("durable").setStableVersion("base").setCanaryVersion("canary").setCanaryWeight(w).build()).getRevision());
                    } catch (StatusRuntimeException e) {
                        return;
                    }
                }
            });
            versions.start();
            routing.start();
            assertTrue(halfway.await(120, TimeUnit.SECONDS), "writes did not get going; see " + log);
            registry.kill(); // mid-stream
            versions.join(30_000);
            routing.join(30_000);
            channel.shutdownNow();
        }
        assertTrue(ackedVersions.size() > 40 && !ackedRevisions.isEmpty(), "too few acknowledged writes to prove anything");

        try (var restarted = RegistryProcess.start(env, log)) {
            ManagedChannel channel = ManagedChannelBuilder.forAddress("127.0.0.1", restarted.grpcPort).usePlaintext().build();
            var stub = ModelRegistryGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
            for (String v : ackedVersions) {
                assertEquals(v, stub.getVersion(GetVersionRequest.newBuilder().setModel("durable").setVersion(v).build()).getVersion());
            }
            long lastAcked = ackedRevisions.get(ackedRevisions.size() - 1);
            assertTrue(stub.getRouting(GetRoutingRequest.newBuilder().setModel("durable").build()).getRevision() >= lastAcked,
                    "routing revision went back before the last acknowledged one");
            // Every acknowledged write has its audit record: 1 CreateModel + 2 base versions + acks.
            int audited = stub.listAudit(ListAuditRequest.newBuilder().setModel("durable").setPageSize(1000).build()).getRecordsCount();
            assertTrue(audited >= 3 + ackedVersions.size() + ackedRevisions.size(), "audited " + audited);
            System.out.printf("durability: %d versions and %d routing changes acknowledged before SIGKILL, all present after restart%n",
                    ackedVersions.size(), ackedRevisions.size());
            channel.shutdownNow();
        }
    }

    private static void register(ModelRegistryGrpc.ModelRegistryBlockingStub stub, String version) {
        stub.registerVersion(RegisterVersionRequest.newBuilder().setModel("durable").setVersion(version).setArtifactUri("file:///m/" + version)
                .setSha256(SHA).addInputs(TensorSpec.newBuilder().setName("x").setDatatype("FP32").addShape(-1)).build());
    }
}
