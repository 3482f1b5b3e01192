package io.maas.inference.adapters.grpc;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;

import io.maas.inference.domain.Datatype;
import io.maas.inference.domain.InferRequest;
import io.maas.inference.domain.InferResult;
import io.maas.inference.domain.InferenceException;
import io.maas.inference.domain.Shapes;
import io.maas.inference.domain.Tensor;
import io.maas.proto.inference.InferParameter;
import io.maas.proto.inference.InferTensorContents;
import io.maas.proto.inference.ModelInferRequest;
import io.maas.proto.inference.ModelInferResponse;

/**
 * Converts between the protocol's messages and domain tensors. Raw contents are wrapped, not
 * copied: the single copy into native memory happens when the tensor reaches ONNX Runtime (or
 * when a batch is joined). Outputs always travel as raw_output_contents, like Triton.
 */
public final class ProtoTensors {
    private ProtoTensors() {
    }

    public static InferRequest decode(ModelInferRequest request, long deadlineNanos, BooleanSupplier cancelled) {
        int raw = request.getRawInputContentsCount();
        if (raw > 0 && raw != request.getInputsCount()) {
            throw InferenceException.invalid("raw_input_contents has " + raw + " entries but the request has "
                    + request.getInputsCount() + " inputs; send one raw entry per input, in input order");
        }
        List<Tensor> inputs = new ArrayList<>(request.getInputsCount());
        for (int i = 0; i < request.getInputsCount(); i++) {
            ModelInferRequest.InferInputTensor input = request.getInputs(i);
            Datatype datatype = Datatype.parse(input.getDatatype());
            if (datatype == null) {
                throw InferenceException.invalid("input '" + input.getName() + "' has unknown datatype '"
                        + input.getDatatype() + "'; use one of " + List.of(Datatype.values()));
            }
            long[] shape = input.getShapeList().stream().mapToLong(Long::longValue).toArray();
            if (raw > 0) {
                if (input.hasContents()) {
                    throw InferenceException.invalid("input '" + input.getName()
                            + "' has both contents and raw_input_contents; use one");
                }
                inputs.add(fromRaw(input.getName(), datatype, shape, request.getRawInputContents(i)));
            } else {
                inputs.add(fromContents(input.getName(), datatype, shape, input.getContents()));
            }
        }
        Set<String> outputs = new LinkedHashSet<>();
        Map<String, Integer> classifications = new LinkedHashMap<>();
        for (ModelInferRequest.InferRequestedOutputTensor o : request.getOutputsList()) {
            outputs.add(o.getName());
            InferParameter c = o.getParametersMap().get("classification");
            if (c != null) {
                classifications.put(o.getName(), classCount(o.getName(), c));
            }
        }
        return new InferRequest(request.getModelName(), request.getModelVersion(), request.getId(), inputs, outputs,
                deadlineNanos, cancelled, Map.copyOf(classifications));
    }

    /** The classification extension's class count: an integer parameter (tritonclient sends int64_param). */
    private static int classCount(String output, InferParameter p) {
        long n = switch (p.getParameterChoiceCase()) {
            case INT64_PARAM -> p.getInt64Param();
            case UINT64_PARAM -> p.getUint64Param();
            default -> -1;
        };
        if (n < 1 || n > Integer.MAX_VALUE) {
            throw InferenceException.invalid("output '" + output + "' parameter 'classification' must be a positive"
                    + " integer (the number of classes wanted), got " + p);
        }
        return (int) n;
    }

    public static ModelInferResponse encode(InferResult result) {
        ModelInferResponse.Builder response = ModelInferResponse.newBuilder()
                .setModelName(result.modelName())
                .setModelVersion(result.modelVersion())
                .setId(result.id());
        for (Tensor t : result.outputs()) {
            ModelInferResponse.InferOutputTensor.Builder out = response.addOutputsBuilder()
                    .setName(t.name())
                    .setDatatype(t.datatype().name());
            for (long d : t.shape()) {
                out.addShape(d);
            }
            response.addRawOutputContents(toRaw(t));
        }
        return response.build();
    }

    /** Raw bytes of a tensor: the buffer itself (no copy), or length-prefixed strings for BYTES. */
    public static ByteString toRaw(Tensor t) {
        if (t.datatype() != Datatype.BYTES) {
            return UnsafeByteOperations.unsafeWrap(t.data().duplicate());
        }
        int size = 0;
        for (byte[] s : t.strings()) {
            size += 4 + s.length;
        }
        ByteBuffer out = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        for (byte[] s : t.strings()) {
            out.putInt(s.length).put(s);
        }
        return UnsafeByteOperations.unsafeWrap(out.array());
    }

    public static Tensor fromRaw(String name, Datatype datatype, long[] shape, ByteString raw) {
        if (datatype.isFixedSize()) {
            return Tensor.ofBuffer(name, datatype, shape, raw.asReadOnlyByteBuffer());
        }
        ByteBuffer in = raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        List<byte[]> strings = new ArrayList<>();
        while (in.hasRemaining()) {
            if (in.remaining() < 4) {
                throw InferenceException.invalid("input '" + name + "': BYTES data ends inside a 4-byte length prefix");
            }
            int length = in.getInt();
            if (length < 0 || length > in.remaining()) {
                throw InferenceException.invalid("input '" + name + "': BYTES element " + strings.size()
                        + " declares " + Integer.toUnsignedString(length) + " bytes but only " + in.remaining()
                        + " remain");
            }
            byte[] s = new byte[length];
            in.get(s);
            strings.add(s);
        }
        return Tensor.ofStrings(name, shape, strings.toArray(byte[][]::new));
    }

    private static Tensor fromContents(String name, Datatype datatype, long[] shape, InferTensorContents c) {
        long expected;
        try {
            expected = Shapes.elementCount(shape);
        } catch (ArithmeticException e) {
            throw InferenceException.invalid("input '" + name + "' shape " + Shapes.format(shape) + " is too large");
        }
        int count = switch (datatype) {
            case BOOL -> c.getBoolContentsCount();
            case INT8, INT16, INT32 -> c.getIntContentsCount();
            case INT64 -> c.getInt64ContentsCount();
            case UINT8, UINT16, UINT32 -> c.getUintContentsCount();
            case UINT64 -> c.getUint64ContentsCount();
            case FP32 -> c.getFp32ContentsCount();
            case FP64 -> c.getFp64ContentsCount();
            case BYTES -> c.getBytesContentsCount();
            case FP16, BF16 -> throw InferenceException.invalid("input '" + name + "' is " + datatype
                    + ", which has no typed contents field; send it in raw_input_contents");
        };
        if (count != expected) {
            throw InferenceException.invalid("input '" + name + "' has " + count + " values in contents but shape "
                    + Shapes.format(shape) + " needs " + expected);
        }
        if (datatype == Datatype.BYTES) {
            return Tensor.ofStrings(name, shape, c.getBytesContentsList().stream().map(ByteString::toByteArray)
                    .toArray(byte[][]::new));
        }
        ByteBuffer b = ByteBuffer.allocateDirect(count * datatype.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < count; i++) {
            switch (datatype) {
                case BOOL -> b.put((byte) (c.getBoolContents(i) ? 1 : 0));
                case INT8 -> b.put((byte) within(name, i, datatype, c.getIntContents(i), Byte.MIN_VALUE, Byte.MAX_VALUE));
                case INT16 -> b.putShort((short) within(name, i, datatype, c.getIntContents(i), Short.MIN_VALUE, Short.MAX_VALUE));
                case INT32 -> b.putInt(c.getIntContents(i));
                case INT64 -> b.putLong(c.getInt64Contents(i));
                case UINT8 -> b.put((byte) within(name, i, datatype, Integer.toUnsignedLong(c.getUintContents(i)), 0, 255));
                case UINT16 -> b.putShort((short) within(name, i, datatype, Integer.toUnsignedLong(c.getUintContents(i)), 0, 65_535));
                case UINT32 -> b.putInt(c.getUintContents(i));
                case UINT64 -> b.putLong(c.getUint64Contents(i));
                case FP32 -> b.putFloat(c.getFp32Contents(i));
                case FP64 -> b.putDouble(c.getFp64Contents(i));
                default -> throw new IllegalStateException(datatype.name());
            }
        }
        b.flip();
        return Tensor.ofBuffer(name, datatype, shape, b);
    }

    /** A typed-contents value its datatype cannot hold is the caller's error, never wrapped silently. */
    private static long within(String name, int i, Datatype datatype, long value, long min, long max) {
        if (value < min || value > max) {
            throw InferenceException.invalid("input '" + name + "' element " + i + " is " + value + "; " + datatype
                    + " takes a whole number from " + min + " to " + max);
        }
        return value;
    }
}
