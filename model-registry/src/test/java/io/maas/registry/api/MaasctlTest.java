package io.maas.registry.api;

import com.google.protobuf.CodedOutputStream;
import io.maas.maasctl.Maasctl;
import io.maas.proto.registry.GetVersionRequest;
import io.maas.proto.registry.ModelVersion;
import io.maas.proto.registry.TensorSpec;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static io.maas.registry.api.GrpcTestClient.tensor;
import static io.maas.registry.api.GrpcTestClient.uniqueModel;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** maasctl against the running registry (in-process Quarkus, real gRPC over loopback). */
@QuarkusTest
class MaasctlTest {

    record Result(int code, String out, String err) {
    }

    static Result maasctl(String... args) {
        var out = new StringWriter();
        var err = new StringWriter();
        String[] full = new String[args.length + 1];
        full[0] = args[0];
        full[1] = "--registry=127.0.0.1:" + GrpcTestClient.port();
        System.arraycopy(args, 1, full, 2, args.length - 1);
        int code = Maasctl.run(full, new PrintWriter(out), new PrintWriter(err));
        return new Result(code, out.toString(), err.toString());
    }

    static Result ok(String... args) {
        var r = maasctl(args);
        assertEquals(0, r.code(), r.err());
        return r;
    }

    @Test
    void walkthroughRegisterCanaryPromoteRollbackAudit(@TempDir Path dir) throws Exception {
        String m = uniqueModel("cli");
        Path artifact = Files.writeString(dir.resolve("model.onnx"), "not really onnx");
        ok("register", m, "1", "--artifact", artifact.toString(), "--input", "input_ids:INT64:-1,-1", "--output", "y:FP32:-1,384");
        var second = ok("register", m, "2", "--artifact", artifact.toString(), "--input", "input_ids:INT64:-1,-1", "--label", "quant=int8");
        assertTrue(second.out().contains("registered " + m + " version 2 (CANDIDATE"), second.out());

        assertTrue(ok("set-weight", m, "--stable", "1").out().contains("stable 1"));
        assertTrue(ok("set-weight", m, "10", "--canary", "2", "--reason", "int8 canary").out().contains("canary 2 at 10%"));
        var status = ok("status", m).out();
        assertTrue(status.contains("routing:  stable 1, canary 2 at 10%"), status);
        assertTrue(status.contains("int8 canary"), status);
        assertTrue(ok("list").out().contains(m), "list shows the model");
        assertTrue(ok("list", m).out().contains("CANDIDATE"));

        assertTrue(ok("promote", m).out().contains("version 2 promoted to stable (was 1"));
        assertTrue(ok("status", m).out().contains("2        STABLE"));
        assertTrue(ok("rollback", m).out().contains("rolled back to stable 1, canary 2 at 10%"));

        var audit = ok("audit", m, "--json").out();
        assertTrue(audit.contains("RollbackRouting") && audit.contains("SetStage") && audit.contains("int8 canary"), audit);

        var refused = maasctl("set-weight", m, "150");
        assertEquals(1, refused.code());
        assertTrue(refused.err().contains("INVALID_ARGUMENT: canary_weight 150 is out of range"), refused.err());
        var badTensor = maasctl("register", m, "3", "--artifact", artifact.toString(), "--input", "input_ids");
        assertEquals(2, badTensor.code());
        assertTrue(badTensor.err().contains("NAME:DATATYPE:SHAPE"), badTensor.err());
    }

    /** The committed test models (tools/models/make_test_models.py), signatures as that script declares them. */
    private static final Path TEST_MODELS = Path.of("../models/src/repository");

    @Test
    void registerRepositoryReadsSignaturesFromTheOnnxFilesAndIsIdempotent(@TempDir Path dir) throws Exception {
        String simple = uniqueModel("simple");
        String identity = uniqueModel("identity");
        copyTree(TEST_MODELS.resolve("simple"), dir.resolve(simple));
        copyTree(TEST_MODELS.resolve("identity"), dir.resolve(identity));
        Files.createDirectories(dir.resolve(uniqueModel("skipped")).resolve("1"));

        var first = ok("register-repository", "--repository", dir.toString(), "--model", simple, "--model", identity,
                "--artifact-base", "file:///models/");
        for (var line : List.of("registered " + simple + " version 1 (CANDIDATE", "registered " + simple + " version 2 (CANDIDATE",
                "registered " + identity + " version 1 (CANDIDATE")) {
            assertTrue(first.out().contains(line), first.out());
        }

        var channel = GrpcTestClient.channel();
        try {
            var stub = GrpcTestClient.stub(channel, null);
            ModelVersion v1 = stub.getVersion(GetVersionRequest.newBuilder().setModel(simple).setVersion("1").build());
            assertEquals("file:///models/" + simple + "/1/model.onnx", v1.getArtifactUri());
            assertEquals(java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(dir.resolve(simple).resolve("1/model.onnx")))), v1.getSha256());
            assertEquals("onnx", v1.getFramework());
            // the symbolic batch dim is -1, the fixed one kept
            assertEquals(List.of(tensor("INPUT0", "FP32", -1, 16), tensor("INPUT1", "FP32", -1, 16)), v1.getInputsList());
            assertEquals(List.of(tensor("OUTPUT0", "FP32", -1, 16), tensor("OUTPUT1", "FP32", -1, 16)), v1.getOutputsList());

            ModelVersion id = stub.getVersion(GetVersionRequest.newBuilder().setModel(identity).setVersion("1").build());
            var types = List.of("BOOL", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64", "FP16", "FP32", "FP64",
                    "BYTES");
            assertEquals(types, id.getInputsList().stream().map(TensorSpec::getDatatype).toList());
            assertEquals(types, id.getOutputsList().stream().map(TensorSpec::getDatatype).toList());
            assertEquals(tensor("IN_STRING", "BYTES", -1, -1), id.getInputs(12));
            assertEquals(tensor("OUT_FP16", "FP16", -1, -1), id.getOutputs(9));
        } finally {
            channel.shutdownNow();
        }

        var again = ok("register-repository", "--repository", dir.toString(), "--model", simple, "--model", identity,
                "--artifact-base", "file:///models/");
        assertTrue(again.out().contains(simple + " version 1 already registered") && again.out().contains(simple + " version 2 already registered")
                && again.out().contains(identity + " version 1 already registered"), again.out());

        // a changed file under a registered version is refused; the other versions still go through
        Files.copy(TEST_MODELS.resolve("identity/1/model.onnx"), dir.resolve(simple).resolve("2/model.onnx"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.createDirectories(dir.resolve(simple).resolve("3"));
        Files.copy(TEST_MODELS.resolve("simple/1/model.onnx"), dir.resolve(simple).resolve("3/model.onnx"));
        var changed = maasctl("register-repository", "--repository", dir.toString(), "--model", simple);
        assertEquals(1, changed.code(), changed.out() + changed.err());
        assertTrue(changed.err().contains(simple + " version 2: failed: registered with sha256") && changed.err().contains("versions are immutable"),
                changed.err());
        assertTrue(changed.out().contains(simple + " version 1 already registered"), changed.out());
        assertTrue(changed.out().contains("registered " + simple + " version 3 (CANDIDATE"), changed.out());

        var notOnnx = uniqueModel("broken");
        Files.createDirectories(dir.resolve(notOnnx).resolve("1"));
        Files.writeString(dir.resolve(notOnnx).resolve("1/model.onnx"), "not really onnx");
        var broken = maasctl("register-repository", "--repository", dir.toString(), "--model", notOnnx);
        assertEquals(1, broken.code(), broken.out());
        assertTrue(broken.err().contains(notOnnx + " version 1: failed:"), broken.err());

        var missing = maasctl("register-repository", "--repository", dir.toString(), "--model", "nope");
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("--model nope: no directory"), missing.err());
    }

    @Test
    void registerRepositoryRegistersPipelinesAndStepsFromTheirConfig(@TempDir Path dir) throws Exception {
        String embed = uniqueModel("embed");
        String labels = uniqueModel("labels");
        copyTree(TEST_MODELS.resolve("minilm-embed"), dir.resolve(embed));
        copyTree(TEST_MODELS.resolve("topic-labels"), dir.resolve(labels));
        // a built-in step whose config declares what callers send and get
        Files.writeString(dir.resolve(labels).resolve("config.pbtxt"), """
                backend: "classification"
                max_batch_size: 32
                input [ { name: "scores", data_type: TYPE_FP32, dims: [ 6 ] } ]
                output [ { name: "label", data_type: TYPE_STRING, dims: [ 3 ] }, { name: "score", data_type: TYPE_FP32, dims: [ 3 ] } ]
                parameters { key: "label_filename", value: { string_value: "labels.txt" } }
                """);
        var first = ok("register-repository", "--repository", dir.toString(), "--model", embed, "--model", labels,
                "--artifact-base", "file:///models");
        assertTrue(first.out().contains("registered " + embed + " version 1 (CANDIDATE")
                && first.out().contains("registered " + labels + " version 1 (CANDIDATE"), first.out());

        var channel = GrpcTestClient.channel();
        try {
            var stub = GrpcTestClient.stub(channel, null);
            ModelVersion v = stub.getVersion(GetVersionRequest.newBuilder().setModel(embed).setVersion("1").build());
            assertEquals("file:///models/" + embed + "/", v.getArtifactUri());
            assertEquals("ensemble", v.getFramework());
            assertEquals(List.of(tensor("TEXT", "BYTES", -1, 1)), v.getInputsList());
            assertEquals(List.of(tensor("EMBEDDING", "FP32", -1, 384)), v.getOutputsList());
            assertEquals(manifestSha256(dir.resolve(embed), "1/README", "config.pbtxt"), v.getSha256());

            ModelVersion l = stub.getVersion(GetVersionRequest.newBuilder().setModel(labels).setVersion("1").build());
            assertEquals("classification", l.getFramework());
            assertEquals(List.of(tensor("label", "BYTES", -1, 3), tensor("score", "FP32", -1, 3)), l.getOutputsList());
            assertEquals(manifestSha256(dir.resolve(labels), "1/README", "config.pbtxt", "labels.txt"), l.getSha256());
        } finally {
            channel.shutdownNow();
        }

        // a second version of the pipeline leaves the first's sha256 alone; a changed labels file does not
        copyTree(dir.resolve(embed).resolve("1"), dir.resolve(embed).resolve("2"));
        Files.writeString(dir.resolve(labels).resolve("labels.txt"), "changed\n", java.nio.file.StandardOpenOption.APPEND);
        var again = maasctl("register-repository", "--repository", dir.toString(), "--model", embed, "--model", labels);
        assertEquals(1, again.code(), again.out() + again.err());
        assertTrue(again.out().contains(embed + " version 1 already registered") && again.out().contains("registered " + embed + " version 2"),
                again.out());
        assertTrue(again.err().contains(labels + " version 1: failed: registered with sha256") && again.err().contains("versions are immutable"),
                again.err());

        String noSignature = uniqueModel("nosig");
        Files.createDirectories(dir.resolve(noSignature).resolve("1"));
        Files.writeString(dir.resolve(noSignature).resolve("config.pbtxt"), "backend: \"pooling\"\n");
        String nothing = uniqueModel("nothing");
        Files.createDirectories(dir.resolve(nothing).resolve("1"));
        var refused = maasctl("register-repository", "--repository", dir.toString(), "--model", noSignature, "--model", nothing);
        assertEquals(1, refused.code(), refused.out());
        assertTrue(refused.err().contains(noSignature + " version 1: failed: ") && refused.err().contains("(pooling) declares no input"),
                refused.err());
        assertTrue(refused.err().contains(nothing + " version 1: failed: no model.onnx in ") && refused.err().contains("names no pipeline"),
                refused.err());
    }

    /** SHA-256 over "sha256(file)  path" lines sorted by path, computed here independently of maasctl. */
    private static String manifestSha256(Path modelDir, String... sortedPaths) throws Exception {
        var all = new StringBuilder();
        for (String p : sortedPaths) {
            all.append(java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                    .digest(Files.readAllBytes(modelDir.resolve(p))))).append("  ").append(p).append('\n');
        }
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(all.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }

    @Test
    void registerRepositoryLeavesOutInitializersAndRefusesNonTensors(@TempDir Path dir) throws Exception {
        // Hand-built ONNX files (field numbers from the ONNX schema): what exporters emit beyond
        // the committed test models.
        byte[] bf16BatchBy3 = message(1, message(1, 16L, 2, message(1, message(2, "batch"), 1, message(1, 3L))));
        byte[] fp16UnknownBy3 = message(1, message(1, 10L, 2, message(1, message(), 1, message(1, 3L))));
        byte[] fp32Of3 = message(1, message(1, 1L, 2, message(1, message(1, 3L))));
        byte[] graph = message(
                5, message(1, 3L, 2, 1L, 8, "bias", 9, new byte[12]),    // initializer "bias" (with its weights)
                11, message(1, "x", 2, bf16BatchBy3),
                11, message(1, "bias", 2, fp32Of3),                        // listed as input too (IR < 4 style)
                12, message(1, "y", 2, fp16UnknownBy3),
                10, "doc string, skipped");
        String m = uniqueModel("exported");
        Files.createDirectories(dir.resolve(m).resolve("1"));
        Files.write(dir.resolve(m).resolve("1/model.onnx"), message(1, 8L, 2, "exporter", 7, graph));
        // version 2: an output that is a sequence of tensors (TypeProto.sequence_type = 4)
        Files.createDirectories(dir.resolve(m).resolve("2"));
        byte[] sequence = message(4, message(1, fp32Of3));
        Files.write(dir.resolve(m).resolve("2/model.onnx"), message(7, message(11, message(1, "x", 2, bf16BatchBy3),
                12, message(1, "ys", 2, sequence))));

        var r = maasctl("register-repository", "--repository", dir.toString());
        assertEquals(1, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("registered " + m + " version 1 (CANDIDATE"), r.out());
        assertTrue(r.err().contains(m + " version 2: failed: 'ys' is not a tensor"), r.err());
        var channel = GrpcTestClient.channel();
        try {
            var v = GrpcTestClient.stub(channel, null).getVersion(GetVersionRequest.newBuilder().setModel(m).setVersion("1").build());
            assertEquals(List.of(tensor("x", "BF16", -1, 3)), v.getInputsList());
            assertEquals(List.of(tensor("y", "FP16", -1, 3)), v.getOutputsList());
        } finally {
            channel.shutdownNow();
        }
    }

    /** A protobuf message from (field number, value) pairs: Long varint, String or byte[] length-delimited. */
    private static byte[] message(Object... fields) throws Exception {
        var bytes = new java.io.ByteArrayOutputStream();
        var out = CodedOutputStream.newInstance(bytes);
        for (int i = 0; i < fields.length; i += 2) {
            int field = (Integer) fields[i];
            Object value = fields[i + 1];
            if (value instanceof Long v) {
                out.writeInt64(field, v);
            } else if (value instanceof String v) {
                out.writeString(field, v);
            } else {
                out.writeByteArray(field, (byte[]) value);
            }
        }
        out.flush();
        return bytes.toByteArray();
    }

    private static void copyTree(Path from, Path to) throws Exception {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path p : files.toList()) {
                Files.copy(p, to.resolve(from.relativize(p).toString()));
            }
        }
    }
}
