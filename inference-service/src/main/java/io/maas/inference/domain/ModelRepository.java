package io.maas.inference.domain;

import java.util.Arrays;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.jboss.logging.Logger;

/**
 * The models served from a Triton-style repository folder, {@code <repo>/<model>/<version>/model.onnx}.
 * A model that fails to load is recorded with its reason and never affects the others. Reloading a
 * model loads the new versions first and swaps them in, so requests keep being served throughout.
 */
public final class ModelRepository implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ModelRepository.class);

    private final Path root;
    private final ModelLoader loader;
    private final ModelConfigReader configReader;
    private final InferenceMetrics metrics;
    private final InferenceTracing tracing;
    private final Map<String, ServedModel> models = new ConcurrentHashMap<>();
    /** Runs pipelines' later steps, one thread per core: the steps are short CPU work, or a hand-off. */
    private final java.util.concurrent.ExecutorService continuations = java.util.concurrent.Executors.newFixedThreadPool(
            Runtime.getRuntime().availableProcessors(), r -> {
                Thread t = new Thread(r, "pipeline-steps");
                t.setDaemon(true);
                return t;
            });

    public ModelRepository(Path root, ModelLoader loader, ModelConfigReader configReader, InferenceMetrics metrics,
                           InferenceTracing tracing) {
        this.root = root;
        this.loader = loader;
        this.configReader = configReader;
        this.metrics = metrics;
        this.tracing = tracing;
    }

    public Path root() {
        return root;
    }

    /** Loads every model folder; failures are recorded per model, never thrown. */
    public void loadAll() {
        if (!Files.isDirectory(root)) {
            throw new IllegalStateException("model repository " + root.toAbsolutePath()
                    + " is not a directory; pass --model-repository DIR or set MAAS_MODEL_REPOSITORY");
        }
        // A model that uses others (a pipeline's steps, a zero-shot classifier's embedding model) loads after
        // them: its wiring is checked against them. Models in a cycle, or using a missing one, load last and fail.
        Map<String, Set<String>> waiting = new java.util.LinkedHashMap<>();
        for (String name : folders()) {
            ModelSettings s = settingsOrNull(name);
            waiting.put(name, s == null ? Set.of() : s.dependencies());
        }
        boolean progress = true;
        while (!waiting.isEmpty() && progress) {
            progress = false;
            for (String name : List.copyOf(waiting.keySet())) {
                if (waiting.get(name).stream().noneMatch(d -> waiting.containsKey(d) && !d.equals(name))) {
                    waiting.remove(name);
                    load(name);
                    progress = true;
                }
            }
        }
        waiting.keySet().forEach(this::load);
    }

    private ModelSettings settingsOrNull(String name) {
        try {
            return configReader.read(root.resolve(name));
        } catch (InferenceException e) {
            return null;
        }
    }

    /** Loads or reloads one model from its folder. */
    public synchronized void load(String name) {
        Path dir = modelDir(name);
        if (!Files.isDirectory(dir)) {
            throw InferenceException.notFound("no folder '" + name + "' in model repository " + root.toAbsolutePath());
        }
        ServedModel fresh = read(name, dir);
        ServedModel old = models.put(name, fresh);
        if (old != null) {
            closeVersions(old);
        }
    }

    /** Stops serving a model; queued requests finish first. */
    public synchronized void unload(String name) {
        ServedModel old = models.remove(name);
        if (old == null) {
            throw InferenceException.notFound("model '" + name + "' is not loaded; loaded models: " + names());
        }
        closeVersions(old);
        LOG.infof("model '%s' unloaded", name);
    }

    public Optional<ServedModel> model(String name) {
        return Optional.ofNullable(models.get(name));
    }

    public Collection<ServedModel> models() {
        return models.values().stream().sorted((a, b) -> a.name().compareTo(b.name())).toList();
    }

    /** Model folders present on disk, loaded or not. */
    public List<String> folders() {
        try (Stream<Path> dirs = Files.list(root)) {
            return dirs.filter(Files::isDirectory).map(d -> d.getFileName().toString())
                    .filter(n -> !n.startsWith(".")).sorted().toList();
        } catch (IOException e) {
            if (!Files.isDirectory(root)) {
                return List.of();
            }
            throw new IllegalStateException("cannot list model repository " + root + ": " + e.getMessage(), e);
        }
    }

    /**
     * The version a request should run on.
     *
     * @param version empty for the highest ready version
     */
    public ModelVersion resolve(String name, String version) {
        if (name == null || name.isEmpty()) {
            throw InferenceException.invalid("model name is required");
        }
        ServedModel model = models.get(name);
        if (model == null) {
            throw InferenceException.notFound("unknown model '" + name + "'; served models: " + names());
        }
        if (version == null || version.isEmpty()) {
            return model.latestReady().orElseThrow(() -> InferenceException.unavailable("model '" + name
                    + "' has no ready version: " + describeFailures(model)));
        }
        ModelVersion v;
        try {
            v = model.versions().get(Long.parseLong(version));
        } catch (NumberFormatException e) {
            v = null;
        }
        if (v == null) {
            throw InferenceException.notFound("model '" + name + "' has no version '" + version
                    + "'; served versions: " + model.versions().keySet());
        }
        if (!v.isReady()) {
            throw InferenceException.unavailable("model '" + name + "' version " + version + " is not ready: "
                    + v.reason());
        }
        return v;
    }

    private ServedModel read(String name, Path dir) {
        ModelSettings settings;
        try {
            settings = configReader.read(dir);
        } catch (InferenceException e) {
            LOG.errorf("model '%s' not loaded: %s", name, e.getMessage());
            return new ServedModel(name, null, new TreeMap<>(), e.getMessage(), Map.of());
        }
        List<Long> found = versionsOnDisk(dir);
        List<Long> selected = settings.versionPolicy().select(found);
        Map<String, List<String>> labels;
        try {
            labels = readLabels(dir, settings);
        } catch (InferenceException e) {
            LOG.errorf("model '%s' not loaded: %s", name, e.getMessage());
            return new ServedModel(name, settings, new TreeMap<>(), e.getMessage(), Map.of());
        }
        NavigableMap<Long, ModelVersion> versions = new TreeMap<>();
        for (long version : selected) {
            versions.put(version, loadVersion(name, version, dir, settings));
        }
        String reason = selected.isEmpty() ? "no version folder" + (settings.isEnsemble() ? "" : " with "
                + settings.modelFilename()) + " matches the version policy (found versions " + found + ")" : "";
        if (!reason.isEmpty()) {
            LOG.warnf("model '%s': %s", name, reason);
        }
        return new ServedModel(name, settings, versions, reason, labels);
    }

    /** The labels files named by the config's outputs (label_filename), read once at load. */
    private static Map<String, List<String>> readLabels(Path dir, ModelSettings settings) {
        Map<String, List<String>> labels = new HashMap<>();
        for (Map.Entry<String, String> e : settings.labelFiles().entrySet()) {
            labels.put(e.getKey(), Labels.read(dir.resolve(e.getValue()), "output '" + e.getKey() + "'"));
        }
        return Map.copyOf(labels);
    }

    private ModelVersion loadVersion(String name, long version, Path dir, ModelSettings settings) {
        Path file = dir.resolve(Long.toString(version)).resolve(settings.modelFilename());
        try {
            if (settings.isEnsemble()) {
                Pipeline pipeline = new Pipeline(name, version, settings, this, metrics, continuations);
                LOG.infof("pipeline '%s' version %d ready: %s", name, version, pipeline.order().stream()
                        .map(PipelineStep::modelName).collect(Collectors.joining(" -> ")));
                return ModelVersion.ready(name, version, pipeline, pipeline);
            }
            ModelRunner runner = loader.load(file, settings, this);
            checkDeclared(name, runner, settings);
            checkRagged(name, runner, settings);
            if (runner.runsInline()) {
                LOG.infof("model '%s' version %d ready (%s, runs on the caller's thread)", name, version,
                        settings.platform());
                return ModelVersion.ready(name, version, runner,
                        new DirectScheduler(name, Long.toString(version), runner, metrics));
            }
            warmUp(name, version, runner);
            BatchScheduler scheduler = new BatchScheduler(name, Long.toString(version), runner, settings, metrics,
                    tracing);
            LOG.infof("model '%s' version %d ready on %s (max batch %d, batching %s, queue %d, instances %d)",
                    name, version, runner.executionProvider(), settings.maxBatchSize(),
                    settings.batchingEnabled() ? settings.maxQueueDelayMicros() + " us" : "off",
                    settings.maxQueueSize(), settings.instanceCount());
            return ModelVersion.ready(name, version, runner, scheduler);
        } catch (InferenceException e) {
            LOG.errorf("model '%s' version %d not loaded: %s", name, version, e.getMessage());
            return ModelVersion.unavailable(name, version, e.getMessage());
        }
    }

    /**
     * One run on zeros (every variable dimension 1) before the version is ready, so its first
     * caller, for instance right after a rolling update, does not pay for ONNX Runtime's first-run
     * setup. Not counted in metrics. A model that refuses zeros is served all the same.
     */
    static void warmUp(String name, long version, ModelRunner runner) {
        Map<String, Tensor> inputs = new HashMap<>();
        for (TensorSpec in : runner.inputs()) {
            long[] shape = Arrays.stream(in.shape()).map(d -> d < 0 ? 1 : d).toArray();
            long n = Shapes.elementCount(shape);
            if (in.datatype() == Datatype.BYTES) {
                byte[][] strings = new byte[(int) n][];
                Arrays.fill(strings, new byte[0]);
                inputs.put(in.name(), Tensor.ofStrings(in.name(), shape, strings));
            } else if (n * in.datatype().byteSize() <= WARM_UP_MAX_BYTES) {
                inputs.put(in.name(), Tensor.ofBuffer(in.name(), in.datatype(), shape,
                        ByteBuffer.allocateDirect((int) (n * in.datatype().byteSize()))));
            } else {
                LOG.infof("model '%s' version %d: no warm-up run (input '%s' is large even at size 1)", name, version,
                        in.name());
                return;
            }
        }
        Set<String> outputs = new HashSet<>();
        runner.outputs().forEach(o -> outputs.add(o.name()));
        long start = System.nanoTime();
        try {
            runner.run(inputs, outputs);
            LOG.infof("model '%s' version %d: warm-up run in %d ms", name, version, (System.nanoTime() - start) / 1_000_000);
        } catch (RuntimeException e) {
            LOG.infof("model '%s' version %d: warm-up run on zeros refused (%s); served without it", name, version,
                    e.getMessage());
        }
    }

    /** Largest input a warm-up run allocates. */
    static final long WARM_UP_MAX_BYTES = 64L * 1024 * 1024;

    /** A config file that lists inputs or outputs must agree with the model file. */
    private static void checkDeclared(String name, ModelRunner runner, ModelSettings settings) {
        try {
            checkSubset(name, "input", settings.declaredInputs(), runner.inputs(), settings.maxBatchSize());
            checkSubset(name, "output", settings.declaredOutputs(), runner.outputs(), settings.maxBatchSize());
            if (settings.maxBatchSize() > 0) {
                for (TensorSpec in : runner.inputs()) {
                    if (in.shape().length == 0 || in.shape()[0] != -1) {
                        throw InferenceException.unavailable("config of model '" + name + "' sets max_batch_size "
                                + settings.maxBatchSize() + " but input '" + in.name() + "' has shape "
                                + Shapes.format(in.shape()) + " with no variable first (batch) dimension;"
                                + " set max_batch_size: 0 or export the model with a dynamic batch axis");
                    }
                }
            }
        } catch (InferenceException e) {
            runner.close();
            throw e;
        }
    }

    /**
     * Ragged inputs are padded to the longest in a batch and each caller's outputs cut back along the
     * dimensions named like the padded ones: the model file must name them, or the batcher could not
     * tell which output positions belong to whom.
     */
    private static void checkRagged(String name, ModelRunner runner, ModelSettings settings) {
        try {
            settings.raggedMaxPadding();
            settings.maxInputElements();
            settings.maxSequenceLength();
        } catch (InferenceException e) {
            throw fail(runner, "config of model '" + name + "': " + e.getMessage());
        }
        for (String ragged : settings.raggedInputs()) {
            TensorSpec in = runner.inputs().stream().filter(t -> t.name().equals(ragged)).findFirst()
                    .orElseThrow(() -> fail(runner, "config of model '" + name + "' marks input '" + ragged
                            + "' allow_ragged_batch but the model has no such input"));
            for (int d = 1; d < in.shape().length; d++) {
                if (in.shape()[d] < 0 && (in.dimensionNames().size() <= d || in.dimensionNames().get(d).isEmpty())) {
                    throw fail(runner, "model '" + name + "' input '" + ragged + "' is allow_ragged_batch but its"
                            + " variable dimension " + d + " has no name in the model file; the batcher needs"
                            + " dimension names to cut each caller's outputs back");
                }
            }
        }
        if (!settings.raggedInputs().isEmpty() && settings.maxBatchSize() == 0) {
            throw fail(runner, "config of model '" + name + "' uses allow_ragged_batch with max_batch_size 0");
        }
    }

    private static InferenceException fail(ModelRunner runner, String message) {
        runner.close();
        return InferenceException.unavailable(message);
    }

    private static void checkSubset(String name, String kind, List<TensorSpec> declared, List<TensorSpec> actual,
                                    int maxBatchSize) {
        for (TensorSpec d : declared) {
            TensorSpec a = actual.stream().filter(t -> t.name().equals(d.name())).findFirst()
                    .orElseThrow(() -> InferenceException.unavailable("config of model '" + name + "' declares "
                            + kind + " '" + d.name() + "' that the model file does not have; it has "
                            + actual.stream().map(TensorSpec::name).toList()));
            if (d.datatype() != null && d.datatype() != a.datatype()) {
                throw InferenceException.unavailable("config of model '" + name + "' declares " + kind + " '"
                        + d.name() + "' as " + d.datatype() + " but the model file has " + a.datatype());
            }
            long[] expected = maxBatchSize > 0 && a.shape().length > 0
                    ? Arrays.copyOfRange(a.shape(), 1, a.shape().length) : a.shape();
            if (d.shape().length > 0 && !Shapes.matches(expected, d.shape()) && !Shapes.matches(d.shape(), expected)) {
                throw InferenceException.unavailable("config of model '" + name + "' declares " + kind + " '"
                        + d.name() + "' with dims " + Shapes.format(d.shape()) + " but the model file has "
                        + Shapes.format(expected) + (maxBatchSize > 0 ? " (without the batch dimension)" : ""));
            }
        }
    }

    private static List<Long> versionsOnDisk(Path dir) {
        try (Stream<Path> entries = Files.list(dir)) {
            List<Long> versions = new ArrayList<>();
            entries.filter(Files::isDirectory).map(p -> p.getFileName().toString())
                    .filter(n -> n.matches("\\d{1,18}")).forEach(n -> versions.add(Long.parseLong(n)));
            return versions;
        } catch (IOException e) {
            return List.of();
        }
    }

    private static String describeFailures(ServedModel model) {
        if (model.versions().isEmpty()) {
            return model.reason();
        }
        return model.versions().values().stream().map(v -> "version " + v.version() + ": " + v.reason())
                .collect(Collectors.joining("; "));
    }

    private Path modelDir(String name) {
        if (name == null || name.isBlank() || name.contains("/") || name.contains("\\") || name.startsWith(".")) {
            throw InferenceException.invalid("invalid model name '" + name + "'");
        }
        return root.resolve(name);
    }

    private String names() {
        return models.keySet().stream().sorted().toList().toString();
    }

    private static void closeVersions(ServedModel model) {
        for (ModelVersion v : model.versions().values()) {
            if (v.scheduler() != null) {
                v.scheduler().close();
            }
        }
    }

    @Override
    public synchronized void close() {
        models.values().forEach(ModelRepository::closeVersions);
        models.clear();
        continuations.shutdown();
    }
}
