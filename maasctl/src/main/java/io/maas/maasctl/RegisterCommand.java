package io.maas.maasctl;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.maas.proto.registry.CreateModelRequest;
import io.maas.proto.registry.ModelRegistryGrpc;
import io.maas.proto.registry.RegisterVersionRequest;
import io.maas.proto.registry.TensorSpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

@Command(name = "register", description = "Register a model version (creating the model if needed).")
final class RegisterCommand extends RegistryCommand {

    @Parameters(index = "0", description = "Model name, e.g. minilm.")
    String model;

    @Parameters(index = "1", description = "Version, e.g. 1.")
    String version;

    @Option(names = "--artifact", required = true, description = "Artifact URI or local path of the model file.")
    String artifact;

    @Option(names = "--sha256", description = "SHA-256 of the artifact; computed when the artifact is a local file.")
    String sha256;

    @Option(names = "--input", required = true, description = "Input tensor NAME:DATATYPE:SHAPE, e.g. input_ids:INT64:-1,-1 (repeatable).")
    List<String> inputs;

    @Option(names = "--output", description = "Output tensor NAME:DATATYPE:SHAPE (repeatable).")
    List<String> outputs = new ArrayList<>();

    @Option(names = "--framework", defaultValue = "onnx", description = "Framework (default ${DEFAULT-VALUE}).")
    String framework;

    @Option(names = "--label", description = "Label KEY=VALUE (repeatable).")
    Map<String, String> labels = new LinkedHashMap<>();

    @Option(names = "--description", defaultValue = "")
    String description;

    @Override
    void run(ModelRegistryGrpc.ModelRegistryBlockingStub stub) {
        String uri = artifact.contains("://") ? artifact : Path.of(artifact).toAbsolutePath().toUri().toString();
        String digest = sha256 != null ? sha256 : sha256Of(uri);
        createModelIfMissing(stub, model, out());
        var v = stub.registerVersion(RegisterVersionRequest.newBuilder().setModel(model).setVersion(version).setArtifactUri(uri)
                .setSha256(digest).addAllInputs(tensors(inputs)).addAllOutputs(tensors(outputs)).setFramework(framework)
                .putAllLabels(labels).setDescription(description).build());
        out().printf("registered %s version %s (%s, sha256 %s…)%n", v.getModel(), v.getVersion(), v.getStage(), v.getSha256().substring(0, 12));
    }

    static List<TensorSpec> tensors(List<String> specs) {
        List<TensorSpec> tensors = new ArrayList<>();
        for (var spec : specs) {
            String[] parts = spec.split(":");
            if (parts.length != 3) {
                throw new IllegalArgumentException("tensor '" + spec + "' must be NAME:DATATYPE:SHAPE, e.g. input_ids:INT64:-1,128");
            }
            var b = TensorSpec.newBuilder().setName(parts[0]).setDatatype(parts[1]);
            for (var dim : parts[2].split(",")) {
                try {
                    b.addShape(Long.parseLong(dim.strip()));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("tensor '" + spec + "': shape dims are integers, -1 for variable");
                }
            }
            tensors.add(b.build());
        }
        return tensors;
    }

    /** Creates the model unless it exists already (registering a version needs its model). */
    static void createModelIfMissing(ModelRegistryGrpc.ModelRegistryBlockingStub stub, String model, PrintWriter out) {
        try {
            stub.createModel(CreateModelRequest.newBuilder().setName(model).build());
            out.println("created model " + model);
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() != Status.Code.ALREADY_EXISTS) {
                throw e;
            }
        }
    }

    private static String sha256Of(String uri) {
        if (!uri.startsWith("file:")) {
            throw new IllegalArgumentException("--sha256 is required when --artifact is not a local file");
        }
        return sha256(Path.of(URI.create(uri)));
    }

    /** Lowercase hex SHA-256 of a file, streamed (model files are large). */
    static String sha256(Path file) {
        try (var in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
            in.transferTo(OutputStream.nullOutputStream());
            return HexFormat.of().formatHex(in.getMessageDigest().digest());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read artifact " + file, e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
