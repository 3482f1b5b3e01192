package io.maas.inference.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.grpc.Status;
import io.maas.inference.TestModels;
import io.maas.proto.inference.RepositoryIndexRequest;
import io.maas.proto.inference.RepositoryIndexResponse;
import io.maas.proto.inference.RepositoryModelLoadRequest;
import io.maas.proto.inference.RepositoryModelUnloadRequest;
import io.maas.proto.inference.ServerReadyRequest;
import io.maas.testsupport.TempDirs;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * A repository with a corrupt model file and a malformed config beside a good model: the server
 * comes up, serves the good model, and says what is wrong with the others. Also loads and unloads
 * models at run time through the repository API.
 */
@QuarkusTest
@TestProfile(BrokenRepositoryTest.Profile.class)
class BrokenRepositoryTest extends GrpcTestSupport {

    public static class Profile implements QuarkusTestProfile {
        static final Path ROOT = create();

        private static Path create() {
            try {
                Path root = TempDirs.create("maas-broken-repo");
                Path simple = TestModels.repository().resolve("simple/1/model.onnx");
                Files.copy(simple, Files.createDirectories(root.resolve("good/1")).resolve("model.onnx"));
                Files.write(Files.createDirectories(root.resolve("corrupt/1")).resolve("model.onnx"),
                        "not an onnx file".getBytes());
                Files.copy(simple, Files.createDirectories(root.resolve("badconfig/1")).resolve("model.onnx"));
                Files.writeString(root.resolve("badconfig/config.pbtxt"), "max_batch_size: -4");
                return root;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("maas.model-repository", ROOT.toString());
        }
    }

    @Test
    void brokenModelsAreReportedAndTheGoodOneServes() {
        assertTrue(stub().serverReady(ServerReadyRequest.getDefaultInstance()).getReady());
        assertEquals("1", stub().modelInfer(TestModels.simple("", 1, 0).toBuilder().setModelName("good").build())
                .getModelVersion());
        assertStatus(Status.Code.UNAVAILABLE, () -> stub().modelInfer(TestModels.simple("1", 1, 0).toBuilder()
                .setModelName("corrupt").build()), "version 1 is not ready", "cannot load");
        assertStatus(Status.Code.UNAVAILABLE, () -> stub().modelInfer(TestModels.simple("", 1, 0).toBuilder()
                .setModelName("badconfig").build()), "config.pbtxt", "max_batch_size -4");
        RepositoryIndexResponse index = stub().repositoryIndex(RepositoryIndexRequest.getDefaultInstance());
        var corrupt = index.getModelsList().stream().filter(m -> m.getName().equals("corrupt")).findFirst().orElseThrow();
        assertEquals("UNAVAILABLE", corrupt.getState());
        assertTrue(corrupt.getReason().contains("cannot load"), corrupt.getReason());
        assertEquals(1, stub().repositoryIndex(RepositoryIndexRequest.newBuilder().setReady(true).build())
                .getModelsCount(), "only 'good' is ready");
    }

    @Test
    void modelsAreFixedLoadedAndUnloadedAtRunTime() throws IOException {
        Files.copy(TestModels.repository().resolve("simple/1/model.onnx"),
                Files.createDirectories(Profile.ROOT.resolve("added/4")).resolve("model.onnx"));
        stub().repositoryModelLoad(RepositoryModelLoadRequest.newBuilder().setModelName("added").build());
        assertEquals("4", stub().modelInfer(TestModels.simple("", 1, 0).toBuilder().setModelName("added").build())
                .getModelVersion());
        stub().repositoryModelUnload(RepositoryModelUnloadRequest.newBuilder().setModelName("added").build());
        assertStatus(Status.Code.NOT_FOUND, () -> stub().modelInfer(TestModels.simple("", 1, 0).toBuilder()
                .setModelName("added").build()), "unknown model 'added'");
        assertStatus(Status.Code.NOT_FOUND, () -> stub().repositoryModelLoad(
                RepositoryModelLoadRequest.newBuilder().setModelName("nothere").build()), "no folder 'nothere'");
    }
}
