package io.maas.inference.api;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.MetadataUtils;
import io.maas.auth.ApiKeys;
import io.maas.inference.TestModels;
import io.maas.proto.inference.RepositoryModelLoadRequest;
import io.maas.proto.inference.RepositoryModelUnloadRequest;
import io.maas.testsupport.TempDirs;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/** With an admin keys file, repository load and unload need an admin tenant's key, over gRPC and REST; inference stays open. */
@QuarkusTest
@TestProfile(RepositoryGuardTest.Profile.class)
class RepositoryGuardTest extends GrpcTestSupport {

    public static class Profile implements QuarkusTestProfile {
        static final Path ROOT = create();

        private static Path create() {
            try {
                Path root = TempDirs.create("maas-guarded-repo");
                Files.copy(TestModels.repository().resolve("simple/1/model.onnx"),
                        Files.createDirectories(root.resolve("repo/simple/1")).resolve("model.onnx"));
                Files.writeString(root.resolve("keys"), "ops:sha256:" + ApiKeys.hash("ops-key") + "\nsearch:sha256:"
                        + ApiKeys.hash("search-key") + "\n");
                return root;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("maas.model-repository", ROOT.resolve("repo").toString(),
                    "maas.admin.keys-file", ROOT.resolve("keys").toString(), "maas.admin.tenants", "ops");
        }
    }

    @TestHTTPResource("/")
    URL http;

    private io.maas.proto.inference.GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub as(String key) {
        Metadata md = new Metadata();
        md.put(Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER), key);
        return stub().withInterceptors(MetadataUtils.newAttachHeadersInterceptor(md));
    }

    @Test
    void onlyAnAdminTenantLoadsAndUnloads() throws Exception {
        var unload = RepositoryModelUnloadRequest.newBuilder().setModelName("simple").build();
        assertStatus(Status.Code.UNAUTHENTICATED, () -> stub().repositoryModelUnload(unload), "x-api-key");
        assertStatus(Status.Code.UNAUTHENTICATED, () -> as("wrong").repositoryModelUnload(unload), "not valid");
        assertStatus(Status.Code.PERMISSION_DENIED, () -> as("search-key").repositoryModelUnload(unload), "'search'", "admin");
        assertEquals("1", stub().modelInfer(TestModels.simple("", 1, 0)).getModelVersion(), "inference is not guarded here");

        HttpClient client = HttpClient.newHttpClient();
        HttpRequest.Builder load = HttpRequest.newBuilder(URI.create(http.toString()).resolve("v2/repository/models/simple/load"))
                .POST(HttpRequest.BodyPublishers.noBody());
        assertEquals(401, client.send(load.build(), HttpResponse.BodyHandlers.ofString()).statusCode());
        assertEquals(403, client.send(load.copy().header("x-api-key", "search-key").build(),
                HttpResponse.BodyHandlers.ofString()).statusCode());
        assertEquals(200, client.send(load.copy().header("authorization", "Bearer ops-key").build(),
                HttpResponse.BodyHandlers.ofString()).statusCode());
        as("ops-key").repositoryModelLoad(RepositoryModelLoadRequest.newBuilder().setModelName("simple").build());
    }
}
