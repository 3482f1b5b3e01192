package io.maas.inference.adapters.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import java.util.stream.Stream;

import com.google.protobuf.TextFormat;

import io.maas.inference.domain.Datatype;
import io.maas.inference.domain.Device;
import io.maas.inference.domain.InferenceException;
import io.maas.inference.domain.ModelConfigReader;
import io.maas.inference.domain.ModelSettings;
import io.maas.inference.domain.PipelineStep;
import io.maas.inference.domain.TensorSpec;
import io.maas.inference.domain.VersionPolicy;
import io.maas.proto.inference.DataType;
import io.maas.proto.inference.ModelConfig;
import io.maas.proto.inference.ModelEnsembling;
import io.maas.proto.inference.ModelInput;
import io.maas.proto.inference.ModelOutput;
import io.maas.proto.inference.ModelInstanceGroup;
import io.maas.proto.inference.ModelVersionPolicy;

/**
 * Reads {@code <model>/config.pbtxt} in Triton's text format, so existing Triton model
 * repositories work unchanged. Fields MaaS does not use are skipped (ONNX Runtime's own
 * optimisation settings, for example); fields it uses are validated.
 */
public final class PbtxtModelConfigReader implements ModelConfigReader {
    public static final String FILE_NAME = "config.pbtxt";

    private static final TextFormat.Parser PARSER = TextFormat.Parser.newBuilder()
            .setAllowUnknownFields(true).build();

    private final int defaultQueueSize;

    /** @param defaultQueueSize queue bound for models whose config sets none */
    public PbtxtModelConfigReader(int defaultQueueSize) {
        this.defaultQueueSize = defaultQueueSize;
    }

    @Override
    public ModelSettings read(Path modelDir) {
        Path file = modelDir.resolve(FILE_NAME);
        if (!Files.exists(file)) {
            return ModelSettings.defaults(defaultQueueSize);
        }
        ModelConfig.Builder builder = ModelConfig.newBuilder();
        try {
            PARSER.merge(Files.readString(file, StandardCharsets.UTF_8), builder);
        } catch (TextFormat.ParseException e) {
            throw invalid(file, "is malformed: " + e.getMessage());
        } catch (IOException e) {
            throw invalid(file, "cannot be read: " + e.getMessage());
        }
        return toSettings(file, modelDir.getFileName().toString(), builder.build());
    }

    /** The settings a parsed config describes; also used to answer the ModelConfig call. */
    public ModelSettings toSettings(Path file, String folderName, ModelConfig config) {
        if (!config.getName().isEmpty() && !config.getName().equals(folderName)) {
            throw invalid(file, "names the model '" + config.getName() + "' but its folder is '" + folderName
                    + "'; they must match");
        }
        String platform = platform(file, config);
        if (config.hasEnsembleScheduling() && !platform.equals(ModelSettings.ENSEMBLE)) {
            throw invalid(file, "has ensemble_scheduling but platform '" + platform + "'; set platform: \"ensemble\"");
        }
        if (config.getMaxBatchSize() < 0) {
            throw invalid(file, "sets max_batch_size " + config.getMaxBatchSize() + "; it must be 0 or more");
        }
        boolean batching = config.hasDynamicBatching();
        long delay = config.getDynamicBatching().getMaxQueueDelayMicroseconds();
        int queue = config.getDynamicBatching().getDefaultQueuePolicy().getMaxQueueSize();
        if (batching && platform.equals(ModelSettings.ENSEMBLE)) {
            throw invalid(file, "enables dynamic_batching on an ensemble; batching happens in its steps' models");
        }
        if (batching && config.getMaxBatchSize() == 0) {
            throw invalid(file, "enables dynamic_batching with max_batch_size 0; set max_batch_size > 0 or remove"
                    + " dynamic_batching");
        }
        int preferred = 0;
        for (int size : config.getDynamicBatching().getPreferredBatchSizeList()) {
            if (size < 1 || size > config.getMaxBatchSize()) {
                throw invalid(file, "sets preferred_batch_size " + size + "; each must be between 1 and max_batch_size ("
                        + config.getMaxBatchSize() + ")");
            }
            preferred = Math.max(preferred, size);
        }
        Device device = Device.AUTO;
        int deviceId = 0;
        int count = 1;
        if (config.getInstanceGroupCount() > 0) {
            ModelInstanceGroup group = config.getInstanceGroup(0);
            if (group.getCount() < 0) {
                throw invalid(file, "sets instance_group count " + group.getCount() + "; it must be 1 or more");
            }
            count = Math.max(1, group.getCount());
            device = switch (group.getKind()) {
                case KIND_GPU -> Device.CUDA;
                case KIND_CPU -> Device.CPU;
                default -> Device.AUTO;
            };
            deviceId = group.getGpusCount() > 0 ? group.getGpus(0) : 0;
        }
        String filename = !config.getDefaultModelFilename().isEmpty() ? config.getDefaultModelFilename()
                : platform.equals("tokenizer") ? "tokenizer.json" : ModelSettings.DEFAULT_MODEL_FILENAME;
        if (filename.contains("/") || filename.contains("..")) {
            throw invalid(file, "sets default_model_filename '" + filename + "'; it must be a plain file name");
        }
        List<TensorSpec> inputs = config.getInputList().stream()
                .map(i -> spec(file, i.getName(), i.getDataType(), i.getDimsList())).toList();
        List<TensorSpec> outputs = config.getOutputList().stream()
                .map(o -> spec(file, o.getName(), o.getDataType(), o.getDimsList())).toList();
        List<PipelineStep> steps = steps(file, config);
        if (platform.equals(ModelSettings.ENSEMBLE)) {
            if (steps.isEmpty()) {
                throw invalid(file, "is an ensemble without steps; add ensemble_scheduling { step [...] }");
            }
            if (inputs.isEmpty() || outputs.isEmpty()
                    || Stream.concat(inputs.stream(), outputs.stream()).anyMatch(t -> t.datatype() == null)) {
                throw invalid(file, "is an ensemble; it must list its inputs and outputs with data_type and dims");
            }
        }
        Map<String, String> parameters = new LinkedHashMap<>();
        config.getParametersMap().forEach((k, v) -> parameters.put(k, v.getStringValue()));
        Set<String> ragged = new LinkedHashSet<>();
        config.getInputList().stream().filter(ModelInput::getAllowRaggedBatch).forEach(i -> ragged.add(i.getName()));
        Map<String, String> labels = new LinkedHashMap<>();
        for (ModelOutput o : config.getOutputList()) {
            if (!o.getLabelFilename().isEmpty()) {
                if (o.getLabelFilename().contains("/") || o.getLabelFilename().contains("..")) {
                    throw invalid(file, "sets label_filename '" + o.getLabelFilename() + "' for output '"
                            + o.getName() + "'; it must be a plain file name in the model folder");
                }
                labels.put(o.getName(), o.getLabelFilename());
            }
        }
        return new ModelSettings(config.getMaxBatchSize(), batching, delay, queue > 0 ? queue : defaultQueueSize,
                count, device, deviceId, versionPolicy(file, config.getVersionPolicy()), filename, inputs, outputs,
                platform, Map.copyOf(parameters), steps, Set.copyOf(ragged), Map.copyOf(labels), preferred);
    }

    /**
     * ONNX (any onnx platform or backend, or none), an ensemble, or one of the built-in Java backends
     * (tokenizer, pooling, classification, zero_shot).
     */
    private static String platform(Path file, ModelConfig config) {
        String platform = config.getPlatform().toLowerCase(Locale.ROOT);
        String backend = config.getBackend().toLowerCase(Locale.ROOT);
        if (platform.equals(ModelSettings.ENSEMBLE)) {
            return ModelSettings.ENSEMBLE;
        }
        if ((platform + backend).isEmpty() || (platform + backend).contains("onnx")) {
            return ModelSettings.ONNX;
        }
        if (platform.isEmpty() && BUILT_IN_BACKENDS.contains(backend)) {
            return backend;
        }
        throw invalid(file, "asks for platform/backend '" + config.getPlatform() + config.getBackend()
                + "'; MaaS serves platform onnxruntime_onnx, platform ensemble and the built-in backends "
                + BUILT_IN_BACKENDS);
    }

    /** The built-in processing steps (adapters/steps). */
    public static final List<String> BUILT_IN_BACKENDS = List.of("tokenizer", "pooling", "classification", "zero_shot");

    private static List<PipelineStep> steps(Path file, ModelConfig config) {
        List<PipelineStep> steps = new ArrayList<>();
        for (ModelEnsembling.Step s : config.getEnsembleScheduling().getStepList()) {
            if (s.getModelName().isEmpty()) {
                throw invalid(file, "has an ensemble step without model_name");
            }
            if (s.getModelName().equals(config.getName()) || s.getModelName().equals(file.getParent().getFileName().toString())) {
                throw invalid(file, "has a step that runs the ensemble itself");
            }
            steps.add(new PipelineStep(s.getModelName(), s.getModelVersion() > 0 ? s.getModelVersion() : -1,
                    Collections.unmodifiableMap(new TreeMap<>(s.getInputMapMap())),
                    Collections.unmodifiableMap(new TreeMap<>(s.getOutputMapMap()))));
        }
        return List.copyOf(steps);
    }

    private static VersionPolicy versionPolicy(Path file, ModelVersionPolicy policy) {
        return switch (policy.getPolicyChoiceCase()) {
            case ALL -> new VersionPolicy.All();
            case SPECIFIC -> {
                if (policy.getSpecific().getVersionsCount() == 0) {
                    throw invalid(file, "has version_policy specific with no versions");
                }
                yield new VersionPolicy.Specific(new HashSet<>(policy.getSpecific().getVersionsList()));
            }
            case LATEST -> new VersionPolicy.Latest(Math.max(1, policy.getLatest().getNumVersions()));
            default -> new VersionPolicy.Latest(1);
        };
    }

    private static TensorSpec spec(Path file, String name, DataType type, List<Long> dims) {
        if (name.isEmpty()) {
            throw invalid(file, "lists an input or output without a name");
        }
        Datatype datatype = type == DataType.TYPE_INVALID ? null : datatype(type);
        return new TensorSpec(name, datatype, dims.stream().mapToLong(Long::longValue).toArray());
    }

    /** TYPE_FP32 -> FP32, TYPE_STRING -> BYTES. */
    public static Datatype datatype(DataType type) {
        return type == DataType.TYPE_STRING ? Datatype.BYTES : Datatype.parse(type.name().substring("TYPE_".length()));
    }

    /** FP32 -> TYPE_FP32, BYTES -> TYPE_STRING. */
    public static DataType dataType(Datatype datatype) {
        return datatype == Datatype.BYTES ? DataType.TYPE_STRING : DataType.valueOf("TYPE_" + datatype.name());
    }

    private static InferenceException invalid(Path file, String problem) {
        return InferenceException.unavailable("model config " + file + " " + problem);
    }
}
