package io.maas.maasctl;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.maas.proto.registry.GetVersionRequest;
import io.maas.proto.registry.ModelVersion;
import io.maas.proto.registry.RegisterVersionRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Registers every version of a Triton-style model repository, signature read from each ONNX file, or
 * for a pipeline (Triton ensemble) or built-in step, from its config.pbtxt.
 * Safe to re-run (a deployment hook runs it on every install and upgrade): a version registered
 * with the same sha256 is left alone, one with a different sha256 is refused since versions are immutable.
 */
@Command(name = "register-repository",
        description = "Register every version of a model repository: <model>/<version>/model.onnx (signature read from the ONNX file),"
                + " or a pipeline or built-in step described by <model>/config.pbtxt (signature from its declared inputs and outputs).")
// Not a RegistryCommand: each call needs its own deadline (one stub's deadline would have to
// cover hashing every model file), and failures are reported per version, not thrown.
final class RegisterRepositoryCommand implements Callable<Integer> {

    // Triton loads only numeric version directories; the others are not versions.
    private static final Pattern VERSION = Pattern.compile("[0-9]+");

    @Mixin
    RegistryOptions registry;

    @Spec
    CommandSpec spec;

    @Option(names = "--repository", required = true, description = "Model repository directory: <repository>/<model>/<version>/model.onnx, or <repository>/<model>/config.pbtxt and <version>/.")
    Path repository;

    @Option(names = "--model", description = "Register only this model (repeatable; default: every model in the repository).")
    List<String> models = new ArrayList<>();

    @Option(names = "--artifact-base",
            description = "Prefix of the registered artifact URIs, <base>/<model>/<version>/model.onnx, or <base>/<model>/ for a model described by its config.pbtxt (default: file:// URI of --repository).")
    String artifactBase;

    @Override
    public Integer call() throws IOException {
        Path repo = repository.toAbsolutePath().normalize();
        if (!Files.isDirectory(repo)) {
            throw new IllegalArgumentException("--repository " + repo + " is not a directory");
        }
        String base = (artifactBase != null ? artifactBase : repo.toUri().toString()).replaceAll("/+$", "");
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        int failed = 0;
        try (var connection = registry.connect()) {
            for (String model : modelNames(repo)) {
                List<Path> versions = versions(repo.resolve(model));
                if (versions.isEmpty()) {
                    err.printf("%s: failed: no version directories (1, 2, ...) in %s%n", model, repo.resolve(model));
                    failed++;
                }
                for (Path dir : versions) {
                    String version = dir.getFileName().toString();
                    try {
                        out.println(register(connection, model, version, Artifact.of(repo.resolve(model), dir, base + "/" + model)));
                    } catch (StatusRuntimeException e) {
                        err.printf("%s version %s: failed: %s: %s%n", model, version, e.getStatus().getCode(), e.getStatus().getDescription());
                        failed++;
                    } catch (IOException | UncheckedIOException | VersionConflict e) {
                        err.printf("%s version %s: failed: %s%n", model, version, e.getMessage());
                        failed++;
                    }
                    out.flush();
                    err.flush();
                }
            }
        }
        return failed == 0 ? 0 : 1;
    }

    private String register(RegistryOptions.Connection connection, String model, String version, Artifact artifact) throws IOException {
        String sha256 = artifact.sha256();
        ModelVersion existing = find(connection, model, version);
        if (existing == null) {
            var signature = artifact.signature();
            RegisterCommand.createModelIfMissing(connection.stub(), model, spec.commandLine().getOut());
            try {
                var v = connection.stub().registerVersion(RegisterVersionRequest.newBuilder().setModel(model).setVersion(version)
                        .setArtifactUri(artifact.uri()).setSha256(sha256).addAllInputs(signature.inputs()).addAllOutputs(signature.outputs())
                        .setFramework(signature.framework()).build());
                return String.format("registered %s version %s (%s, sha256 %s…)", model, version, v.getStage(), sha256.substring(0, 12));
            } catch (StatusRuntimeException e) {
                if (e.getStatus().getCode() != Status.Code.ALREADY_EXISTS) {
                    throw e;
                }
                existing = find(connection, model, version); // registered concurrently, e.g. by a second hook run
            }
        }
        if (!existing.getSha256().equalsIgnoreCase(sha256)) {
            throw new VersionConflict(String.format(
                    "registered with sha256 %s… but %s has sha256 %s…; versions are immutable, publish the changed model as a new version",
                    existing.getSha256().substring(0, Math.min(12, existing.getSha256().length())), artifact.what(), sha256.substring(0, 12)));
        }
        return String.format("%s version %s already registered (sha256 %s…)", model, version, sha256.substring(0, 12));
    }

    /**
     * What one version registers: its model.onnx (signature read from the file), or, for a model without
     * one, a pipeline (platform "ensemble") or built-in step (backend "tokenizer", ...) described by its
     * config.pbtxt: then the artifact is the model folder and the sha256 covers config.pbtxt, the
     * folder's other files (labels) and every file of the version folder (see {@link #folderSha256}).
     */
    private record Artifact(String uri, String sha256, String what, SignatureReader reader) {
        static Artifact of(Path modelDir, Path versionDir, String modelUri) throws IOException {
            String version = versionDir.getFileName().toString();
            Path onnx = versionDir.resolve("model.onnx");
            if (Files.isRegularFile(onnx)) {
                return new Artifact(modelUri + "/" + version + "/model.onnx", RegisterCommand.sha256(onnx), onnx.toString(), () -> {
                    var s = OnnxSignature.read(onnx);
                    return new ConfigSignature("onnx", s.inputs(), s.outputs());
                });
            }
            ConfigSignature config = ConfigSignature.read(modelDir);
            if (config == null) {
                throw new IOException("no model.onnx in " + versionDir + ", and " + modelDir.resolve(ConfigSignature.FILE_NAME)
                        + " names no pipeline (platform \"ensemble\") or built-in backend");
            }
            return new Artifact(modelUri + "/", folderSha256(modelDir, versionDir), modelDir + " (config.pbtxt and version " + version + ")",
                    () -> config);
        }

        ConfigSignature signature() throws IOException {
            return reader.read();
        }
    }

    private interface SignatureReader {
        ConfigSignature read() throws IOException;
    }

    /**
     * SHA-256 of a model folder's version as a manifest: one "sha256-of-file  relative/path" line per file
     * (the model folder's own files, then every file under the version folder), sorted by path, as
     * {@code cd <model> && find . -maxdepth 1 -type f -o -path './<version>/*' -type f | sed 's|^./||' |
     * LC_ALL=C sort | xargs sha256sum | sha256sum} computes it. A changed config, labels or tokenizer file
     * changes it; another version's files do not.
     */
    static String folderSha256(Path modelDir, Path versionDir) throws IOException {
        List<Path> files = new ArrayList<>();
        try (Stream<Path> own = Files.list(modelDir)) {
            own.filter(Files::isRegularFile).forEach(files::add);
        }
        try (Stream<Path> version = Files.walk(versionDir)) {
            version.filter(Files::isRegularFile).forEach(files::add);
        }
        List<String> lines = new ArrayList<>();
        for (Path f : files) {
            lines.add(RegisterCommand.sha256(f) + "  " + modelDir.relativize(f).toString().replace('\\', '/') + "\n");
        }
        lines.sort(Comparator.comparing((String l) -> l.substring(66)));
        try {
            var digest = java.security.MessageDigest.getInstance("SHA-256");
            for (String l : lines) {
                digest.update(l.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
            return java.util.HexFormat.of().formatHex(digest.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ModelVersion find(RegistryOptions.Connection connection, String model, String version) {
        try {
            return connection.stub().getVersion(GetVersionRequest.newBuilder().setModel(model).setVersion(version).build());
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() == Status.Code.NOT_FOUND) {
                return null;
            }
            throw e;
        }
    }

    private List<String> modelNames(Path repo) throws IOException {
        if (!models.isEmpty()) {
            for (String m : models) {
                if (!Files.isDirectory(repo.resolve(m))) {
                    throw new IllegalArgumentException("--model " + m + ": no directory " + repo.resolve(m));
                }
            }
            return List.copyOf(new LinkedHashSet<>(models));
        }
        try (Stream<Path> dirs = Files.list(repo)) {
            return dirs.filter(Files::isDirectory).map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).sorted().toList();
        }
    }

    private static List<Path> versions(Path modelDir) throws IOException {
        try (Stream<Path> dirs = Files.list(modelDir)) {
            return dirs.filter(p -> VERSION.matcher(p.getFileName().toString()).matches())
                    .filter(Files::isDirectory)
                    .sorted(Comparator.comparing((Path p) -> p.getFileName().toString().length()).thenComparing(Path::getFileName))
                    .toList();
        }
    }

    /** The repository's file differs from the registered version's: not retried, not overwritten. */
    private static final class VersionConflict extends RuntimeException {
        private static final long serialVersionUID = 1L;

        VersionConflict(String message) {
            super(message);
        }
    }
}
