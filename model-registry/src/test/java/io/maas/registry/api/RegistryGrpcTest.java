package io.maas.registry.api;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import grpc.health.v1.HealthOuterClass.HealthCheckRequest;
import grpc.health.v1.HealthOuterClass.HealthCheckResponse;
import grpc.health.v1.HealthGrpc;
import io.maas.proto.registry.CreateModelRequest;
import io.maas.proto.registry.GetRoutingRequest;
import io.maas.proto.registry.GetVersionRequest;
import io.maas.proto.registry.ListAuditRequest;
import io.maas.proto.registry.ListVersionsRequest;
import io.maas.proto.registry.ModelRegistryGrpc;
import io.maas.proto.registry.RegisterVersionRequest;
import io.maas.proto.registry.RollbackRoutingRequest;
import io.maas.proto.registry.RoutingEvent;
import io.maas.proto.registry.RoutingSource;
import io.maas.proto.registry.SetRoutingRequest;
import io.maas.proto.registry.SetStageRequest;
import io.maas.proto.registry.Stage;
import io.maas.proto.registry.WatchRoutingRequest;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static io.maas.registry.api.GrpcTestClient.SHA;
import static io.maas.registry.api.GrpcTestClient.createWithVersions;
import static io.maas.registry.api.GrpcTestClient.refused;
import static io.maas.registry.api.GrpcTestClient.tensor;
import static io.maas.registry.api.GrpcTestClient.uniqueModel;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The gRPC API over loopback, in local dev mode (no tokens file: writes are by "anonymous"). */
@QuarkusTest
class RegistryGrpcTest {

    static ManagedChannel channel;
    static ModelRegistryGrpc.ModelRegistryBlockingStub stub;

    @BeforeAll
    static void connect() {
        channel = GrpcTestClient.channel();
        stub = GrpcTestClient.stub(channel, null);
    }

    @AfterAll
    static void disconnect() {
        channel.shutdownNow();
    }

    private static SetRoutingRequest.Builder routing(String model, String stable, String canary, int weight) {
        return SetRoutingRequest.newBuilder().setModel(model).setStableVersion(stable).setCanaryVersion(canary).setCanaryWeight(weight);
    }

    @Test
    void registerRouteAndReadBack() {
        String m = uniqueModel("api");
        createWithVersions(stub, m, "1", "2");
        var v = stub.getVersion(GetVersionRequest.newBuilder().setModel(m).setVersion("2").build());
        assertEquals(Stage.CANDIDATE, v.getStage());
        assertEquals("anonymous", v.getCreatedBy());
        assertEquals(List.of(-1L, -1L), v.getInputs(0).getShapeList());
        stub.setRouting(routing(m, "1", "", 0).build());
        var r = stub.setRouting(routing(m, "1", "2", 10).setReason("try v2").build());
        assertEquals(RoutingSource.RUNTIME, r.getSource());
        assertEquals(r, stub.getRouting(GetRoutingRequest.newBuilder().setModel(m).build()));
        var back = stub.rollbackRouting(RollbackRoutingRequest.newBuilder().setModel(m).setToRevision(0).build());
        assertTrue(back.getRevision() > r.getRevision());
        assertEquals("", back.getCanaryVersion());
        assertEquals(3, stub.listVersions(ListVersionsRequest.newBuilder().setModel(m).setPageSize(1).build()).getVersionsCount() + 2);
        var audit = stub.listAudit(ListAuditRequest.newBuilder().setModel(m).build()).getRecordsList();
        assertEquals("RollbackRouting", audit.get(0).getAction());
        assertEquals("SetRouting", audit.get(1).getAction());
        assertEquals("try v2", audit.get(1).getReason());
    }

    @Test
    void eachBadInputGetsItsStatusAndAnActionableMessage() {
        String m = uniqueModel("bad");
        createWithVersions(stub, m, "1", "2");
        stub.registerVersion(RegisterVersionRequest.newBuilder().setModel(m).setVersion("fp16").setArtifactUri("file:///x").setSha256(SHA)
                .addInputs(tensor("input_ids", "FP16", -1, -1)).build());
        refused(Status.Code.ALREADY_EXISTS, "already exists", () -> stub.createModel(CreateModelRequest.newBuilder().setName(m).build()));
        refused(Status.Code.INVALID_ARGUMENT, "model name", () -> stub.createModel(CreateModelRequest.newBuilder().setName("a b").build()));
        refused(Status.Code.INVALID_ARGUMENT, "sha256", () -> stub.registerVersion(RegisterVersionRequest.newBuilder().setModel(m)
                .setVersion("3").setArtifactUri("file:///x").setSha256("xyz").addInputs(tensor("a", "FP32", 1)).build()));
        refused(Status.Code.INVALID_ARGUMENT, "datatype", () -> stub.registerVersion(RegisterVersionRequest.newBuilder().setModel(m)
                .setVersion("3").setArtifactUri("file:///x").setSha256(SHA).addInputs(tensor("a", "float32", 1)).build()));
        refused(Status.Code.ALREADY_EXISTS, "immutable", () -> createVersion(m, "1"));
        refused(Status.Code.NOT_FOUND, "not registered", () -> stub.setRouting(routing(m, "7", "", 0).build()));
        refused(Status.Code.NOT_FOUND, "does not exist", () -> stub.setRouting(routing("ghost", "1", "", 0).build()));
        refused(Status.Code.INVALID_ARGUMENT, "0-100", () -> stub.setRouting(routing(m, "1", "2", 101).build()));
        refused(Status.Code.FAILED_PRECONDITION, "force=true", () -> stub.setRouting(routing(m, "1", "fp16", 5).build()));
        assertEquals("fp16", stub.setRouting(routing(m, "1", "fp16", 5).setForce(true).build()).getCanaryVersion());
        var current = stub.getRouting(GetRoutingRequest.newBuilder().setModel(m).build());
        refused(Status.Code.ABORTED, "re-read it", () -> stub.setRouting(routing(m, "1", "2", 5).setExpectedRevision(current.getRevision() - 1).build()));
        refused(Status.Code.INVALID_ARGUMENT, "stage is required", () -> stub.setStage(SetStageRequest.newBuilder().setModel(m).setVersion("1").build()));
        refused(Status.Code.FAILED_PRECONDITION, "route traffic away", () -> stub.setStage(SetStageRequest.newBuilder().setModel(m).setVersion("1")
                .setStage(Stage.ARCHIVED).build()));
        stub.setStage(SetStageRequest.newBuilder().setModel(m).setVersion("2").setStage(Stage.ARCHIVED).build());
        refused(Status.Code.FAILED_PRECONDITION, "archived", () -> stub.setRouting(routing(m, "2", "", 0).build()));
        refused(Status.Code.NOT_FOUND, "no routing yet", () -> {
            String fresh = uniqueModel("norouting");
            createWithVersions(stub, fresh, "1");
            stub.getRouting(GetRoutingRequest.newBuilder().setModel(fresh).build());
        });
        refused(Status.Code.INVALID_ARGUMENT, "from_revision", () -> ModelRegistryGrpc.newBlockingStub(channel)
                .watchRouting(WatchRoutingRequest.newBuilder().setFromRevision(-1).build()).next());
    }

    private static void createVersion(String m, String v) {
        stub.registerVersion(RegisterVersionRequest.newBuilder().setModel(m).setVersion(v).setArtifactUri("file:///x").setSha256(SHA)
                .addInputs(tensor("input_ids", "INT64", -1, -1)).build());
    }

    @Test
    void severalWatchersSeeTheSameOrderedChangesAndResumeAfterReconnect() throws Exception {
        String m = uniqueModel("watch");
        createWithVersions(stub, m, "1", "2");
        long base = stub.setRouting(routing(m, "1", "", 0).build()).getRevision();

        List<GrpcTestClient.Watch> watchers = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            watchers.add(new GrpcTestClient.Watch(channel, 0));
        }
        for (var w : watchers) {
            var snapshot = w.next();
            assertEquals(RoutingEvent.Type.SNAPSHOT, snapshot.getType());
            assertTrue(snapshot.getRevision() >= base);
            assertTrue(snapshot.getEntriesList().stream().anyMatch(e -> e.getModel().equals(m)), "snapshot holds every model");
        }
        List<Long> written = new ArrayList<>();
        for (int weight = 1; weight <= 5; weight++) {
            written.add(stub.setRouting(routing(m, "1", "2", weight).build()).getRevision());
        }
        for (var w : watchers) {
            for (int weight = 1; weight <= 5; weight++) {
                var e = w.nextFor(m);
                assertEquals(RoutingEvent.Type.CHANGE, e.getType());
                assertEquals(weight, e.getEntries(0).getCanaryWeight());
                assertEquals(written.get(weight - 1), e.getRevision());
            }
        }

        // One watcher drops; changes happen while it is away; it resumes from its last revision.
        var dropped = watchers.remove(0);
        dropped.close();
        long lastSeen = written.get(written.size() - 1);
        List<Long> missed = new ArrayList<>();
        for (int weight = 6; weight <= 8; weight++) {
            missed.add(stub.setRouting(routing(m, "1", "2", weight).build()).getRevision());
        }
        try (var resumed = new GrpcTestClient.Watch(channel, lastSeen)) {
            for (long revision : missed) {
                var e = resumed.nextFor(m);
                assertEquals(RoutingEvent.Type.CHANGE, e.getType(), "resume replays changes, no snapshot");
                assertEquals(revision, e.getRevision());
            }
        }
        // A revision the registry never issued (e.g. its store was replaced): a fresh snapshot.
        try (var future = new GrpcTestClient.Watch(channel, Long.MAX_VALUE / 2)) {
            assertEquals(RoutingEvent.Type.SNAPSHOT, future.next().getType());
        }
        watchers.forEach(GrpcTestClient.Watch::close);
    }

    @Test
    void standardGrpcHealthAndPrometheusMetrics() {
        var health = HealthGrpc.newBlockingStub(channel).check(HealthCheckRequest.newBuilder().build());
        assertEquals(HealthCheckResponse.ServingStatus.SERVING, health.getStatus());
        given().get("/metrics").then().statusCode(200)
                .body(containsString("maas_registry_watchers"))
                .body(containsString("maas_registry_routing_revision"));
        given().get("/q/health/ready").then().statusCode(200);
    }
}
