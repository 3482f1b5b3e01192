package io.maas.inference.adapters.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;

import com.google.protobuf.TextFormat;

import io.maas.inference.domain.Datatype;
import io.maas.inference.domain.Device;
import io.maas.inference.domain.InferenceException;
import io.maas.inference.domain.ModelConfigReader;
import io.maas.inference.domain.ModelSettings;
import io.maas.inference.domain.TensorSpec;
import io.maas.inference.domain.VersionPolicy;
import io.maas.proto.inference.DataType;
import io.maas.proto.inference.ModelConfig;
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
        String platform = (config.getPlatform() + config.getBackend()).toLowerCase(Locale.ROOT);
        if (!platform.isEmpty() && !platform.contains("onnx")) {
            throw invalid(file, "asks for platform/backend '" + config.getPlatform() + config.getBackend()
                    + "'; MaaS serves ONNX models only (onnxruntime_onnx)");
        }
        if (config.getMaxBatchSize() < 0) {
            throw invalid(file, "sets max_batch_size " + config.getMaxBatchSize() + "; it must be 0 or more");
        }
        boolean batching = config.hasDynamicBatching();
        long delay = config.getDynamicBatching().getMaxQueueDelayMicroseconds();
        int queue = config.getDynamicBatching().getDefaultQueuePolicy().getMaxQueueSize();
        if (batching && config.getMaxBatchSize() == 0) {
            throw invalid(file, "enables dynamic_batching with max_batch_size 0; set max_batch_size > 0 or remove"
                    + " dynamic_batching");
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
        String filename = config.getDefaultModelFilename().isEmpty() ? ModelSettings.DEFAULT_MODEL_FILENAME
                : config.getDefaultModelFilename();
        if (filename.contains("/") || filename.contains("..")) {
            throw invalid(file, "sets default_model_filename '" + filename + "'; it must be a plain file name");
        }
        return new ModelSettings(config.getMaxBatchSize(), batching, delay, queue > 0 ? queue : defaultQueueSize,
                count, device, deviceId, versionPolicy(file, config.getVersionPolicy()), filename,
                config.getInputList().stream().map(i -> spec(file, i.getName(), i.getDataType(), i.getDimsList()))
                        .toList(),
                config.getOutputList().stream().map(o -> spec(file, o.getName(), o.getDataType(), o.getDimsList()))
                        .toList());
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
