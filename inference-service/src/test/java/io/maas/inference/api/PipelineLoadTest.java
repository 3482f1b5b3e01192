package io.maas.inference.api;

import static io.maas.inference.TestModels.floats;
import static io.maas.inference.TestModels.input;
import static io.maas.inference.TestModels.toFloats;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteOrder;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import com.google.protobuf.ByteString;

import io.grpc.Status;
import io.maas.inference.TestModels;
import io.maas.proto.inference.InferTensorContents;
import io.maas.proto.inference.ModelInferRequest;
import io.maas.proto.inference.ModelInferResponse;
import io.maas.proto.inference.ModelReadyRequest;
import io.maas.proto.inference.RepositoryIndexRequest;
import io.maas.proto.inference.RepositoryIndexResponse;
import io.maas.testsupport.TempDirs;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * Pipelines at load: a Triton ensemble of two ONNX models works as written for Triton; a pipeline
 * whose steps do not fit together, a tokenizer without its tokenizer.json and a classifier without
 * its labels file are UNAVAILABLE with the reason (naming the tensors, the file), and every other
 * model is served. Also the tokenizer as a model of its own: padding, and a text over its limit
 * refused when truncation is off.
 */
@QuarkusTest
@TestProfile(PipelineLoadTest.Profile.class)
class PipelineLoadTest extends GrpcTestSupport {

    public static class Profile implements QuarkusTestProfile {
        static final Path ROOT = create();

        private static Path create() {
            try {
                Path root = TempDirs.create("maas-pipelines");
                copy(TestModels.repository().resolve("simple"), root.resolve("simple"));
                Path tokenizer = Files.createDirectories(root.resolve("short-tokenizer/1"));
                Files.copy(TestModels.repository().resolve("minilm-tokenizer/1/tokenizer.json"),
                        tokenizer.resolve("tokenizer.json"));
                Files.writeString(root.resolve("short-tokenizer/config.pbtxt"), """
                        backend: "tokenizer"
                        max_batch_size: 8
                        parameters { key: "max_length", value: { string_value: "8" } }
                        parameters { key: "truncation", value: { string_value: "false" } }
                        """);
                Files.createDirectories(root.resolve("no-tokenizer/1"));
                Files.writeString(root.resolve("no-tokenizer/config.pbtxt"), "backend: \"tokenizer\"\nmax_batch_size: 8\n");
                Files.createDirectories(root.resolve("no-labels/1"));
                Files.writeString(root.resolve("no-labels/config.pbtxt"), """
                        backend: "classification"
                        max_batch_size: 8
                        parameters { key: "label_filename", value: { string_value: "labels.txt" } }
                        """);
                ensemble(root, "add-twice", "TYPE_FP32", "sum", "sum");
                ensemble(root, "miswired", "TYPE_FP32", "sum", "total");
                ensemble(root, "mistyped", "TYPE_INT32", "sum", "sum");
                Files.createDirectories(root.resolve("needs-tokenizer/1"));
                Files.writeString(root.resolve("needs-tokenizer/config.pbtxt"), """
                        platform: "ensemble"
                        max_batch_size: 8
                        input [ { name: "TEXT", data_type: TYPE_STRING, dims: [ 1 ] } ]
                        output [ { name: "IDS", data_type: TYPE_INT64, dims: [ -1 ] } ]
                        ensemble_scheduling { step [ { model_name: "no-tokenizer", input_map { key: "TEXT" value: "TEXT" }
                          output_map { key: "input_ids" value: "IDS" } } ] }
                        """);
                return root;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** Triton's format: simple twice, (A+B)+(A-B) = 2A and (A+B)-(A-B) = 2B. */
        private static void ensemble(Path root, String name, String inputType, String written, String read)
                throws IOException {
            Files.createDirectories(root.resolve(name).resolve("1"));
            Files.writeString(root.resolve(name).resolve("config.pbtxt"), """
                    name: "%s"
                    platform: "ensemble"
                    max_batch_size: 8
                    input [ { name: "A", data_type: %s, dims: [ 16 ] }, { name: "B", data_type: %s, dims: [ 16 ] } ]
                    output [ { name: "TWICE_A", data_type: TYPE_FP32, dims: [ 16 ] },
                             { name: "TWICE_B", data_type: TYPE_FP32, dims: [ 16 ] } ]
                    ensemble_scheduling {
                      step [
                        {
                          model_name: "simple"
                          model_version: -1
                          input_map { key: "INPUT0" value: "A" }
                          input_map { key: "INPUT1" value: "B" }
                          output_map { key: "OUTPUT0" value: "%s" }
                          output_map { key: "OUTPUT1" value: "diff" }
                        },
                        {
                          model_name: "simple"
                          model_version: 1
                          input_map { key: "INPUT0" value: "%s" }
                          input_map { key: "INPUT1" value: "diff" }
                          output_map { key: "OUTPUT0" value: "TWICE_A" }
                          output_map { key: "OUTPUT1" value: "TWICE_B" }
                        }
                      ]
                    }
                    """.formatted(name, inputType, inputType, written, read));
        }

        private static void copy(Path from, Path to) throws IOException {
            try (Stream<Path> files = Files.walk(from)) {
                for (Path f : files.toList()) {
                    Path target = to.resolve(from.relativize(f).toString());
                    if (Files.isDirectory(f)) {
                        Files.createDirectories(target);
                    } else {
                        Files.copy(f, target, StandardCopyOption.REPLACE_EXISTING);
                    }
                }
            }
        }

        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("maas.model-repository", ROOT.toString());
        }
    }

    private String reason(String model) {
        RepositoryIndexResponse index = stub().repositoryIndex(RepositoryIndexRequest.getDefaultInstance());
        return index.getModelsList().stream().filter(m -> m.getName().equals(model))
                .map(m -> m.getState() + ": " + m.getReason()).findFirst().orElse("not listed");
    }

    private boolean ready(String model) {
        return stub().modelReady(ModelReadyRequest.newBuilder().setName(model).build()).getReady();
    }

    @Test
    void tritonEnsembleOfTwoOnnxModelsRuns() {
        float[] a = new float[32];
        float[] b = new float[32];
        for (int i = 0; i < 32; i++) {
            a[i] = i;
            b[i] = 100 - i;
        }
        ModelInferResponse response = stub().modelInfer(ModelInferRequest.newBuilder().setModelName("add-twice")
                .addInputs(input("A", "FP32", 2, 16)).addInputs(input("B", "FP32", 2, 16))
                .addRawInputContents(floats(a)).addRawInputContents(floats(b)).build());
        assertEquals("TWICE_A", response.getOutputs(0).getName());
        assertEquals(List.of(2L, 16L), response.getOutputs(0).getShapeList());
        float[] twiceA = toFloats(response.getRawOutputContents(0));
        float[] twiceB = toFloats(response.getRawOutputContents(1));
        for (int i = 0; i < 32; i++) {
            assertEquals(2 * a[i], twiceA[i], 1e-4);
            assertEquals(2 * b[i], twiceB[i], 1e-4);
        }
    }

    @Test
    void stepsThatDoNotFitAreRefusedAtLoadNamingTheTensors() {
        assertTrue(ready("simple") && ready("add-twice") && ready("short-tokenizer"), "the others are served");
        assertTrue(!ready("miswired") && reason("miswired").contains("step 'simple' reads [total]"),
                reason("miswired"));
        assertTrue(!ready("mistyped") && reason("mistyped").contains(
                "step 'simple' input 'INPUT0' is FP32 but tensor 'A' (from pipeline input) is INT32"),
                reason("mistyped"));
        assertStatus(Status.Code.UNAVAILABLE, () -> stub().modelInfer(ModelInferRequest.newBuilder()
                .setModelName("miswired").build()), "pipeline 'miswired'", "total");
    }

    @Test
    void missingTokenizerOrLabelsFileMakesThatModelUnavailableWithTheReason() {
        assertTrue(!ready("no-tokenizer") && reason("no-tokenizer").contains("tokenizer.json does not exist"),
                reason("no-tokenizer"));
        assertTrue(!ready("no-labels") && reason("no-labels").contains("labels.txt")
                && reason("no-labels").contains("does not exist"),
                reason("no-labels"));
        assertTrue(!ready("needs-tokenizer") && reason("needs-tokenizer").contains("no-tokenizer"),
                reason("needs-tokenizer"));
    }

    private static ModelInferRequest texts(String model, String... texts) {
        InferTensorContents.Builder contents = InferTensorContents.newBuilder();
        for (String t : texts) {
            contents.addBytesContents(ByteString.copyFromUtf8(t));
        }
        return ModelInferRequest.newBuilder().setModelName(model).addInputs(ModelInferRequest.InferInputTensor
                .newBuilder().setName("TEXT").setDatatype("BYTES").addShape(texts.length).addShape(1)
                .setContents(contents)).build();
    }

    private static long[] longs(ByteString raw) {
        LongBuffer b = raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asLongBuffer();
        long[] out = new long[b.remaining()];
        b.get(out);
        return out;
    }

    @Test
    void tokenizerPadsToTheLongestTextAndRefusesTextsOverItsLimit() {
        ModelInferResponse response = stub().modelInfer(texts("short-tokenizer", "hello world", "hello"));
        assertEquals("input_ids", response.getOutputs(0).getName());
        assertEquals(List.of(2L, 4L), response.getOutputs(0).getShapeList());
        // BERT's uncased vocabulary: [CLS]=101, hello=7592, world=2088, [SEP]=102, [PAD]=0.
        assertArrayEquals(new long[]{101, 7592, 2088, 102, 101, 7592, 102, 0}, longs(response.getRawOutputContents(0)));
        assertArrayEquals(new long[]{1, 1, 1, 1, 1, 1, 1, 0}, longs(response.getRawOutputContents(1)));
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> stub().modelInfer(texts("short-tokenizer",
                "one two three four five six seven eight nine")), "longer than 8 tokens", "max_length");
    }
}
