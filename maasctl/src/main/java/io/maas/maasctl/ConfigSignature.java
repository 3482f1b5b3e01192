package io.maas.maasctl;

import com.google.protobuf.TextFormat;
import io.maas.proto.inference.DataType;
import io.maas.proto.inference.ModelConfig;
import io.maas.proto.registry.TensorSpec;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The signature of a model without an ONNX file (a pipeline, Triton's {@code platform: "ensemble"}, or
 * a built-in step such as {@code backend: "tokenizer"}) as its config.pbtxt declares it: the inputs and
 * outputs callers see, with the batch dimension (-1) first when max_batch_size is above 0, as the
 * inference service serves them.
 */
record ConfigSignature(String framework, List<TensorSpec> inputs, List<TensorSpec> outputs) {

    static final String FILE_NAME = "config.pbtxt";

    private static final TextFormat.Parser PARSER = TextFormat.Parser.newBuilder().setAllowUnknownFields(true).build();

    /** @return null when the model folder has no config.pbtxt, or one for an ONNX model (read the file instead) */
    static ConfigSignature read(Path modelDir) throws IOException {
        Path file = modelDir.resolve(FILE_NAME);
        if (!Files.isRegularFile(file)) {
            return null;
        }
        ModelConfig.Builder config = ModelConfig.newBuilder();
        try {
            PARSER.merge(Files.readString(file, StandardCharsets.UTF_8), config);
        } catch (TextFormat.ParseException e) {
            throw new IOException(file + " is malformed: " + e.getMessage());
        }
        String framework = !config.getPlatform().isEmpty() ? config.getPlatform() : config.getBackend();
        if (framework.isEmpty() || framework.equals("onnxruntime_onnx") || framework.equals("onnxruntime")) {
            return null;
        }
        boolean batched = config.getMaxBatchSize() > 0;
        List<TensorSpec> inputs = new ArrayList<>();
        for (var in : config.getInputList()) {
            inputs.add(spec(file, in.getName(), in.getDataType(), in.getDimsList(), batched));
        }
        List<TensorSpec> outputs = new ArrayList<>();
        for (var out : config.getOutputList()) {
            outputs.add(spec(file, out.getName(), out.getDataType(), out.getDimsList(), batched));
        }
        if (inputs.isEmpty()) {
            throw new IOException(file + " (" + framework + ") declares no input; list the inputs callers send"
                    + " (input [ { name, data_type, dims } ]) so the registry knows the signature");
        }
        return new ConfigSignature(framework, List.copyOf(inputs), List.copyOf(outputs));
    }

    private static TensorSpec spec(Path file, String name, DataType type, List<Long> dims, boolean batched)
            throws IOException {
        var spec = TensorSpec.newBuilder().setName(name).setDatatype(datatype(file, name, type));
        if (batched) {
            spec.addShape(-1);
        }
        return spec.addAllShape(dims).build();
    }

    /** The Open Inference Protocol datatype of a Triton config data_type (TYPE_STRING is BYTES). */
    private static String datatype(Path file, String tensor, DataType type) throws IOException {
        return switch (type) {
            case TYPE_BOOL -> "BOOL";
            case TYPE_UINT8 -> "UINT8";
            case TYPE_UINT16 -> "UINT16";
            case TYPE_UINT32 -> "UINT32";
            case TYPE_UINT64 -> "UINT64";
            case TYPE_INT8 -> "INT8";
            case TYPE_INT16 -> "INT16";
            case TYPE_INT32 -> "INT32";
            case TYPE_INT64 -> "INT64";
            case TYPE_FP16 -> "FP16";
            case TYPE_FP32 -> "FP32";
            case TYPE_FP64 -> "FP64";
            case TYPE_STRING -> "BYTES";
            case TYPE_BF16 -> "BF16";
            default -> throw new IOException(file + ": tensor '" + tensor + "' has data_type " + type
                    + "; give it one of TYPE_BOOL, TYPE_INT*, TYPE_UINT*, TYPE_FP16/32/64, TYPE_BF16, TYPE_STRING");
        };
    }
}
