package io.maas.registry.api;

import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.grpc.ManagedChannel;
import io.maas.proto.registry.GetRoutingRequest;
import io.maas.proto.registry.ModelRegistryGrpc;
import io.maas.proto.registry.RoutingEntry;
import io.maas.proto.registry.RoutingSource;
import io.maas.proto.registry.SetRoutingRequest;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import jakarta.inject.Inject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.function.Predicate;

import static io.maas.registry.api.GrpcTestClient.createWithVersions;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Declared routing from a ConfigMap, through fabric8's mock API server in CRUD mode (no real
 * kube-apiserver runs here): applied within seconds, re-applied only when its content changes.
 */
@QuarkusTest
@WithKubernetesTestServer(crud = true)
@TestProfile(ConfigMapRoutingTest.Declared.class)
class ConfigMapRoutingTest {

    public static class Declared implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("maas.routing-configmap", "maas-routing", "maas.routing-namespace", "test",
                    "maas.registry.data-dir", "target/test-registry-configmap-" + System.nanoTime());
        }
    }

    @Inject
    KubernetesClient client;

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

    private void declare(String yaml) {
        client.configMaps().inNamespace("test").resource(new ConfigMapBuilder().withNewMetadata().withName("maas-routing")
                .withNamespace("test").endMetadata().addToData("routing.yaml", yaml).build()).createOr(c -> c.update());
    }

    private static RoutingEntry awaitRouting(String model, Predicate<RoutingEntry> condition) throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        RoutingEntry last = null;
        while (System.nanoTime() < deadline) {
            try {
                last = stub.getRouting(GetRoutingRequest.newBuilder().setModel(model).build());
                if (condition.test(last)) {
                    return last;
                }
            } catch (io.grpc.StatusRuntimeException e) {
                // not routed yet
            }
            Thread.sleep(100);
        }
        return fail("routing of " + model + " did not reach the expected state; last: " + last);
    }

    @Test
    void declaredRoutingFollowsTheConfigMapButNeverUndoesARuntimeChange() throws Exception {
        createWithVersions(stub, "minilm", "1", "2");
        createWithVersions(stub, "simple", "1");
        declare("""
                models:
                  - name: minilm
                    stable: "1"
                    canary: "2"
                    weight: 10
                """);
        var declared = awaitRouting("minilm", r -> r.getCanaryWeight() == 10);
        assertEquals(RoutingSource.DECLARED, declared.getSource());
        assertEquals("declared:configmap/test/maas-routing", declared.getChangedBy());

        // Edited in Helm: a new revision, no restart.
        declare("""
                models:
                  - name: minilm
                    stable: "1"
                    canary: "2"
                    weight: 30
                """);
        var edited = awaitRouting("minilm", r -> r.getCanaryWeight() == 30);
        assertEquals(RoutingSource.DECLARED, edited.getSource());

        // The router aborts the canary at runtime.
        var aborted = stub.setRouting(SetRoutingRequest.newBuilder().setModel("minilm").setStableVersion("1").setReason("canary abort").build());
        // Another model's entry changes in the ConfigMap; minilm's entry is unchanged and must stay aborted.
        declare("""
                models:
                  - name: minilm
                    stable: "1"
                    canary: "2"
                    weight: 30
                  - name: simple
                    stable: "1"
                """);
        awaitRouting("simple", r -> r.getStableVersion().equals("1"));
        assertEquals(aborted, stub.getRouting(GetRoutingRequest.newBuilder().setModel("minilm").build()));
    }

    @Test
    void aRolloutDeclaredInTheConfigMapShowsOnItAsEventsAndAnAnnotation() throws Exception {
        createWithVersions(stub, "rolled", "1", "2");
        declare("""
                models:
                  - name: rolled
                    stable: "1"
                    canary: "2"
                    weight: 0
                    rollout:
                      steps:
                        - {weight: 15, hold: 1h}
                      analysis: {minCalls: 10, maxErrorRateDelta: 0.05}
                """);
        awaitRouting("rolled", r -> r.getCanaryWeight() == 15);
        var status = awaitAnnotation("maas.io/rollout-rolled", a -> a.startsWith("RUNNING step 1/1 weight 15% candidate 2"));
        long until = System.nanoTime() + 60_000_000_000L;
        String metrics = "";
        while (System.nanoTime() < until && !metrics.contains("maas_registry_rollout_weight{model=\"rolled\"} 15.0")) {
            metrics = io.restassured.RestAssured.given().get("/metrics").asString();
            Thread.sleep(100);
        }
        assertTrue(metrics.contains("maas_registry_rollout_weight{model=\"rolled\"} 15.0"), "rollout weight gauge");
        assertTrue(metrics.contains("maas_registry_rollout_gate_value{gate=\"canary_calls\",model=\"rolled\"}"), "gate gauges");
        assertTrue(status.contains("stable 1"), status);
        stub.setRouting(SetRoutingRequest.newBuilder().setModel("rolled").setStableVersion("1").setCanaryVersion("2")
                .setReason("operator says no").build());
        awaitAnnotation("maas.io/rollout-rolled", a -> a.startsWith("ABORTED"));
        long deadline = System.nanoTime() + 60_000_000_000L;
        java.util.List<String> reasons = java.util.List.of();
        while (System.nanoTime() < deadline) {
            reasons = client.v1().events().inNamespace("test").list().getItems().stream()
                    .filter(e -> "maas-routing".equals(e.getInvolvedObject().getName())).map(e -> e.getReason() + "/" + e.getType()).toList();
            if (reasons.contains("RolloutAborted/Warning")) {
                break;
            }
            Thread.sleep(100);
        }
        assertTrue(reasons.containsAll(java.util.List.of("RolloutStarted/Normal", "RolloutAborted/Warning")), reasons.toString());
    }

    private String awaitAnnotation(String key, Predicate<String> condition) throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        String last = null;
        while (System.nanoTime() < deadline) {
            var cm = client.configMaps().inNamespace("test").withName("maas-routing").get();
            last = cm == null || cm.getMetadata().getAnnotations() == null ? null : cm.getMetadata().getAnnotations().get(key);
            if (last != null && condition.test(last)) {
                return last;
            }
            Thread.sleep(100);
        }
        return fail("annotation " + key + " did not reach the expected state; last: " + last);
    }
}
