package io.maas.inference.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.maas.inference.TestModels;
import io.maas.inference.adapters.config.PbtxtModelConfigReader;
import io.maas.inference.adapters.onnx.OnnxModelLoader;

/** Loading a repository folder with real ONNX files, including broken ones. */
class ModelRepositoryTest {
    @TempDir
    Path root;
    private ModelRepository repository;

    private void copySimple(String model, long version) throws IOException {
        Path dir = Files.createDirectories(root.resolve(model).resolve(Long.toString(version)));
        Files.copy(TestModels.repository().resolve("simple/1/model.onnx"), dir.resolve("model.onnx"));
    }

    private void config(String model, String text) throws IOException {
        Files.writeString(Files.createDirectories(root.resolve(model)).resolve("config.pbtxt"), text);
    }

    private ModelRepository load() {
        repository = new ModelRepository(root, new OnnxModelLoader(Device.CPU, 1, true), new PbtxtModelConfigReader(16),
                InferenceMetrics.NONE, InferenceTracing.NONE);
        repository.loadAll();
        return repository;
    }

    @AfterEach
    void close() {
        if (repository != null) {
            repository.close();
        }
    }

    @Test
    void eachVersionRunsOnceOnZerosBeforeItIsReady() throws IOException {
        copySimple("warm", 1);
        java.util.List<Map<String, Tensor>> runs = new java.util.concurrent.CopyOnWriteArrayList<>();
        ModelLoader real = new OnnxModelLoader(Device.CPU, 1, true);
        ModelLoader counting = (file, settings) -> {
            ModelRunner runner = real.load(file, settings);
            return new ModelRunner() {
                @Override
                public java.util.List<TensorSpec> inputs() {
                    return runner.inputs();
                }

                @Override
                public java.util.List<TensorSpec> outputs() {
                    return runner.outputs();
                }

                @Override
                public String executionProvider() {
                    return runner.executionProvider();
                }

                @Override
                public Map<String, Tensor> run(Map<String, Tensor> inputs, java.util.Set<String> outputs) {
                    runs.add(inputs);
                    return runner.run(inputs, outputs);
                }

                @Override
                public void close() {
                    runner.close();
                }
            };
        };
        repository = new ModelRepository(root, counting, new PbtxtModelConfigReader(16), InferenceMetrics.NONE,
                InferenceTracing.NONE);
        repository.loadAll();
        assertEquals(1, runs.size(), "one warm-up run");
        Tensor in = runs.get(0).get("INPUT0");
        assertEquals(java.util.List.of(1L, 16L), java.util.Arrays.stream(in.shape()).boxed().toList(),
                "the variable batch dimension taken as 1");
        assertEquals(ModelState.READY, repository.resolve("warm", "1").state());
    }

    @Test
    void corruptModelFileMakesOnlyThatVersionUnavailable() throws IOException {
        copySimple("good", 1);
        Files.createDirectories(root.resolve("broken/1"));
        Files.write(root.resolve("broken/1/model.onnx"), new byte[]{1, 2, 3, 4, 5});
        load();
        assertTrue(repository.resolve("good", "").isReady());
        InferenceException e = assertThrows(InferenceException.class, () -> repository.resolve("broken", "1"));
        assertEquals(InferenceException.Kind.UNAVAILABLE, e.kind());
        assertTrue(e.getMessage().contains("cannot load"), e.getMessage());
    }

    @Test
    void malformedConfigIsReportedWithTheFileAndTheOthersServe() throws IOException {
        copySimple("good", 1);
        copySimple("badconfig", 1);
        config("badconfig", "max_batch_size: [oops");
        load();
        assertTrue(repository.resolve("good", "1").isReady());
        InferenceException e = assertThrows(InferenceException.class, () -> repository.resolve("badconfig", ""));
        assertEquals(InferenceException.Kind.UNAVAILABLE, e.kind());
        assertTrue(e.getMessage().contains("config.pbtxt") && e.getMessage().contains("malformed"), e.getMessage());
    }

    @Test
    void configThatContradictsTheModelIsRefused() throws IOException {
        copySimple("typo", 1);
        config("typo", "input [ { name: \"INPUT_0\" data_type: TYPE_FP32 dims: [16] } ]");
        copySimple("wrongtype", 1);
        config("wrongtype", "max_batch_size: 8\ninput [ { name: \"INPUT0\" data_type: TYPE_INT32 dims: [16] } ]");
        load();
        assertTrue(assertThrows(InferenceException.class, () -> repository.resolve("typo", "1"))
                .getMessage().contains("'INPUT_0' that the model file does not have"));
        assertTrue(assertThrows(InferenceException.class, () -> repository.resolve("wrongtype", "1"))
                .getMessage().contains("INT32 but the model file has FP32"));
    }

    @Test
    void tritonConfigFieldsMaasDoesNotUseAreSkipped() throws IOException {
        copySimple("triton", 1);
        config("triton", """
                name: "triton"
                platform: "onnxruntime_onnx"
                max_batch_size: 8
                input [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ 16 ] } ]
                optimization { execution_accelerators { gpu_execution_accelerator : [ { name : "tensorrt" } ] } }
                dynamic_batching { preferred_batch_size: [ 4, 8 ] max_queue_delay_microseconds: 100 }
                """);
        load();
        ServedModel model = repository.model("triton").orElseThrow();
        assertEquals(8, model.settings().maxBatchSize());
        assertTrue(model.settings().batchingEnabled());
        assertEquals(100, model.settings().maxQueueDelayMicros());
        assertEquals(8, model.settings().joinLimit(), "the largest preferred batch size");
    }

    @Test
    void preferredBatchSizeAboveTheMaximumIsRefused() throws IOException {
        copySimple("toobig", 1);
        config("toobig", "max_batch_size: 8\ndynamic_batching { preferred_batch_size: [ 4, 16 ] }");
        load();
        InferenceException e = assertThrows(InferenceException.class, () -> repository.resolve("toobig", ""));
        assertEquals(InferenceException.Kind.UNAVAILABLE, e.kind());
        assertTrue(e.getMessage().contains("preferred_batch_size 16; each must be between 1 and max_batch_size (8)"),
                e.getMessage());
    }

    @Test
    void versionPolicyDefaultsToLatestOneLikeTriton() throws IOException {
        copySimple("m", 1);
        copySimple("m", 3);
        copySimple("pick", 1);
        copySimple("pick", 2);
        copySimple("pick", 3);
        config("pick", "version_policy { specific { versions: [1, 3] } }");
        load();
        assertEquals(List.of(3L), List.copyOf(repository.model("m").orElseThrow().versions().keySet()));
        assertEquals(List.of(1L, 3L), List.copyOf(repository.model("pick").orElseThrow().versions().keySet()));
        InferenceException e = assertThrows(InferenceException.class, () -> repository.resolve("pick", "2"));
        assertEquals(InferenceException.Kind.NOT_FOUND, e.kind());
    }

    @Test
    void modelsLoadAndUnloadAtRunTime() throws IOException {
        copySimple("a", 1);
        load();
        copySimple("late", 1);
        assertThrows(InferenceException.class, () -> repository.resolve("late", ""));
        repository.load("late");
        assertTrue(repository.resolve("late", "").isReady());
        repository.unload("a");
        assertEquals(InferenceException.Kind.NOT_FOUND,
                assertThrows(InferenceException.class, () -> repository.resolve("a", "")).kind());
        assertEquals(InferenceException.Kind.NOT_FOUND,
                assertThrows(InferenceException.class, () -> repository.load("missing")).kind());
        assertFalse(repository.folders().isEmpty());
    }
}
