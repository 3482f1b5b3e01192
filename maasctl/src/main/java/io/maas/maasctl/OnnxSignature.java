package io.maas.maasctl;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import io.maas.proto.registry.TensorSpec;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A model's input/output signature read from the ONNX file itself (protobuf wire format), so what
 * is registered is what the file declares, with no ONNX Runtime or generated onnx.proto classes in
 * the CLI. Streams the file: the weights (graph initializers) are skipped, only their names are kept.
 */
record OnnxSignature(List<TensorSpec> inputs, List<TensorSpec> outputs) {

    // Field numbers of the ONNX protobuf schema (onnx.proto, ONNX IR spec).
    private static final int MODEL_GRAPH = 7;
    private static final int GRAPH_INITIALIZER = 5;
    private static final int GRAPH_INPUT = 11;
    private static final int GRAPH_OUTPUT = 12;
    private static final int TENSOR_NAME = 8;
    private static final int VALUE_INFO_NAME = 1;
    private static final int VALUE_INFO_TYPE = 2;
    private static final int TYPE_TENSOR = 1;
    private static final int TENSOR_TYPE_ELEM_TYPE = 1;
    private static final int TENSOR_TYPE_SHAPE = 2;
    private static final int SHAPE_DIM = 1;
    private static final int DIM_VALUE = 1;

    static OnnxSignature read(Path model) throws IOException {
        try (InputStream in = Files.newInputStream(model)) {
            var coded = CodedInputStream.newInstance(in, 1 << 16);
            List<TensorSpec> inputs = new ArrayList<>();
            List<TensorSpec> outputs = new ArrayList<>();
            Set<String> initializers = new HashSet<>();
            boolean graph = false;
            for (int tag; (tag = coded.readTag()) != 0; ) {
                if (field(tag) == MODEL_GRAPH && lengthDelimited(tag)) {
                    int limit = coded.pushLimit(coded.readRawVarint32());
                    readGraph(coded, inputs, outputs, initializers);
                    coded.popLimit(limit);
                    graph = true;
                } else {
                    coded.skipField(tag);
                }
            }
            if (!graph) {
                throw new IOException("no graph: not an ONNX model");
            }
            // Since IR version 4 initializers need not be graph inputs; those that are listed
            // anyway have defaults, and are not what a client must send.
            inputs.removeIf(t -> initializers.contains(t.getName()));
            return new OnnxSignature(List.copyOf(inputs), List.copyOf(outputs));
        }
    }

    private static void readGraph(CodedInputStream in, List<TensorSpec> inputs, List<TensorSpec> outputs, Set<String> initializers)
            throws IOException {
        for (int tag; (tag = in.readTag()) != 0; ) {
            if (!lengthDelimited(tag)) {
                in.skipField(tag);
                continue;
            }
            switch (field(tag)) {
                case GRAPH_INPUT -> inputs.add(nested(in, OnnxSignature::readValueInfo));
                case GRAPH_OUTPUT -> outputs.add(nested(in, OnnxSignature::readValueInfo));
                case GRAPH_INITIALIZER -> {
                    String name = nested(in, OnnxSignature::readTensorName);
                    if (!name.isEmpty()) {
                        initializers.add(name);
                    }
                }
                default -> in.skipField(tag);
            }
        }
    }

    private static String readTensorName(CodedInputStream in) throws IOException {
        String name = "";
        for (int tag; (tag = in.readTag()) != 0; ) {
            if (field(tag) == TENSOR_NAME && lengthDelimited(tag)) {
                name = in.readStringRequireUtf8();
            } else {
                in.skipField(tag); // the weights themselves
            }
        }
        return name;
    }

    private static TensorSpec readValueInfo(CodedInputStream in) throws IOException {
        var spec = TensorSpec.newBuilder();
        TensorType type = null;
        for (int tag; (tag = in.readTag()) != 0; ) {
            if (field(tag) == VALUE_INFO_NAME && lengthDelimited(tag)) {
                spec.setName(in.readStringRequireUtf8());
            } else if (field(tag) == VALUE_INFO_TYPE && lengthDelimited(tag)) {
                type = nested(in, OnnxSignature::readType);
            } else {
                in.skipField(tag);
            }
        }
        if (type == null || type.elemType == null) {
            throw new IOException("'" + spec.getName() + "' is not a tensor (sequences, maps and optionals cannot be registered)");
        }
        if (type.shape == null) {
            throw new IOException("tensor '" + spec.getName() + "' has no shape (unknown rank)");
        }
        return spec.setDatatype(datatype(spec.getName(), type.elemType)).addAllShape(type.shape).build();
    }

    /** TypeProto: only tensor_type is a signature; other kinds (sequence, map, optional) leave elemType null. */
    private static TensorType readType(CodedInputStream in) throws IOException {
        var type = new TensorType();
        for (int tag; (tag = in.readTag()) != 0; ) {
            if (field(tag) == TYPE_TENSOR && lengthDelimited(tag)) {
                nested(in, t -> readTensorType(t, type));
            } else {
                in.skipField(tag);
            }
        }
        return type;
    }

    private static TensorType readTensorType(CodedInputStream in, TensorType type) throws IOException {
        type.elemType = 0;
        for (int tag; (tag = in.readTag()) != 0; ) {
            if (field(tag) == TENSOR_TYPE_ELEM_TYPE && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_VARINT) {
                type.elemType = in.readInt32();
            } else if (field(tag) == TENSOR_TYPE_SHAPE && lengthDelimited(tag)) {
                type.shape = nested(in, OnnxSignature::readShape);
            } else {
                in.skipField(tag);
            }
        }
        return type;
    }

    private static List<Long> readShape(CodedInputStream in) throws IOException {
        List<Long> shape = new ArrayList<>();
        for (int tag; (tag = in.readTag()) != 0; ) {
            if (field(tag) == SHAPE_DIM && lengthDelimited(tag)) {
                shape.add(nested(in, OnnxSignature::readDim));
            } else {
                in.skipField(tag);
            }
        }
        return shape;
    }

    /** dim_value, or -1 for a symbolic (dim_param) or unknown dimension. */
    private static Long readDim(CodedInputStream in) throws IOException {
        long dim = -1;
        for (int tag; (tag = in.readTag()) != 0; ) {
            if (field(tag) == DIM_VALUE && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_VARINT) {
                dim = in.readInt64();
            } else {
                in.skipField(tag);
            }
        }
        return dim;
    }

    /** The v2 (Open Inference Protocol) datatype of an ONNX TensorProto.DataType. */
    static String datatype(String tensor, int elemType) throws IOException {
        return switch (elemType) {
            case 1 -> "FP32";
            case 2 -> "UINT8";
            case 3 -> "INT8";
            case 4 -> "UINT16";
            case 5 -> "INT16";
            case 6 -> "INT32";
            case 7 -> "INT64";
            case 8 -> "BYTES";
            case 9 -> "BOOL";
            case 10 -> "FP16";
            case 11 -> "FP64";
            case 12 -> "UINT32";
            case 13 -> "UINT64";
            case 16 -> "BF16";
            default -> throw new IOException("tensor '" + tensor + "' has ONNX element type " + elemType
                    + ", which has no Open Inference Protocol datatype");
        };
    }

    private interface Reader<T> {
        T read(CodedInputStream in) throws IOException;
    }

    /** Reads one length-delimited submessage with the given reader. */
    private static <T> T nested(CodedInputStream in, Reader<T> reader) throws IOException {
        int limit = in.pushLimit(in.readRawVarint32());
        T value = reader.read(in);
        in.popLimit(limit);
        return value;
    }

    private static int field(int tag) {
        return WireFormat.getTagFieldNumber(tag);
    }

    private static boolean lengthDelimited(int tag) {
        return WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED;
    }

    private static final class TensorType {
        Integer elemType;
        List<Long> shape;
    }
}
