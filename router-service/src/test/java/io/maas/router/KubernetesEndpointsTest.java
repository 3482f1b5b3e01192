package io.maas.router;

import io.maas.router.domain.Endpoint;
import io.maas.router.domain.EndpointPool;
import io.maas.router.domain.ModelKey;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import io.restassured.RestAssured;

/** EndpointSlice discovery against fabric8's mock API server in CRUD mode (watch included). */
@QuarkusTest
@WithKubernetesTestServer(crud = true)
@TestProfile(KubernetesEndpointsTest.Profile.class)
class KubernetesEndpointsTest {

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("maas.endpoints.source", "kubernetes", "maas.endpoints.namespace", "serving");
        }
    }

    @Inject
    KubernetesClient client;
    @Inject
    EndpointPool pool;

    static EndpointSlice slice(String name, String model, String version, String track, String component,
            Map<String, Boolean> addresses) {
        var b = new EndpointSliceBuilder().withNewMetadata().withName(name).withNamespace("serving")
                .addToLabels("app.kubernetes.io/component", component).addToLabels("maas.io/model", model)
                .addToLabels("maas.io/version", version).addToLabels("maas.io/track", track).endMetadata()
                .withAddressType("IPv4")
                .addNewPort().withName("http").withPort(8000).endPort()
                .addNewPort().withName("grpc").withPort(8001).endPort();
        addresses.forEach((ip, ready) -> b.addToEndpoints(new EndpointBuilder().withAddresses(ip)
                .withNewConditions().withReady(ready).endConditions().build()));
        return b.build();
    }

    List<String> addresses(String model, String version) {
        return pool.endpoints(new ModelKey(model, version)).stream().map(Endpoint::address).sorted()
                .collect(Collectors.toList());
    }

    @Test
    void readyEndpointsOfLabelledSlicesFollowTheWatch() {
        var slices = client.discovery().v1().endpointSlices().inNamespace("serving");
        slices.resource(slice("minilm-stable-abc", "minilm", "1", "stable", "inference",
                Map.of("10.0.0.1", true, "10.0.0.2", false))).create();
        slices.resource(slice("minilm-canary-def", "minilm", "2", "canary", "inference", Map.of("10.0.1.1", true))).create();
        slices.resource(slice("not-inference", "minilm", "1", "stable", "registry", Map.of("10.0.9.9", true))).create();

        Cluster.await("slices discovered", () -> addresses("minilm", "1").equals(List.of("10.0.0.1:8001"))
                && addresses("minilm", "2").equals(List.of("10.0.1.1:8001")));
        assertEquals("canary", pool.trackLabel(new ModelKey("minilm", "2")));
        // the port named http is the REST twin's address for the same pod
        assertEquals("10.0.1.1:8000", pool.endpoints(new ModelKey("minilm", "2")).get(0).httpAddress());

        // a pod becomes ready, another appears: the watch delivers the update
        slices.resource(slice("minilm-stable-abc", "minilm", "1", "stable", "inference",
                Map.of("10.0.0.1", true, "10.0.0.2", true, "10.0.0.3", true))).update();
        Cluster.await("update applied", () -> addresses("minilm", "1")
                .equals(List.of("10.0.0.1:8001", "10.0.0.2:8001", "10.0.0.3:8001")));

        slices.withName("minilm-canary-def").delete();
        Cluster.await("deletion applied", () -> addresses("minilm", "2").isEmpty());

        // readiness without a registry: the router serves named versions, so it is ready
        RestAssured.given().get("/q/health/ready").then().statusCode(200);
    }
}
