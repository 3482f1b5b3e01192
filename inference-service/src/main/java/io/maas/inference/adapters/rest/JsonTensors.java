package io.maas.inference.adapters.rest;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.UnsafeByteOperations;

import io.maas.inference.adapters.grpc.ProtoTensors;
import io.maas.inference.domain.Datatype;
import io.maas.inference.domain.InferRequest;
import io.maas.inference.domain.InferResult;
import io.maas.inference.domain.InferenceException;
import io.maas.inference.domain.Shapes;
import io.maas.inference.domain.Tensor;

/**
 * The REST twin's request and response bodies: JSON tensors, and the binary tensor extension
 * (a JSON header of Inference-Header-Content-Length bytes followed by raw tensor bytes) that
 * tritonclient.http uses by default.
 */
public final class JsonTensors {
    public static final String HEADER_LENGTH = "Inference-Header-Content-Length";
    private static final ObjectMapper JSON = new ObjectMapper();

    private JsonTensors() {
    }

    /** A response: the JSON header, and the binary section (empty when every output is JSON). */
    public record Body(byte[] json, byte[] binary) {
    }

    /** @param headerLength the Inference-Header-Content-Length header, null when the body is all JSON */
    public static ParsedRequest decode(byte[] body, String headerLength) {
        long jsonLength;
        try {
            jsonLength = headerLength == null ? body.length : Long.parseLong(headerLength.trim());
        } catch (NumberFormatException e) {
            throw InferenceException.invalid(HEADER_LENGTH + " is '" + headerLength + "'; it must be the JSON"
                    + " header's length in bytes");
        }
        if (jsonLength < 0 || jsonLength > body.length) {
            throw InferenceException.invalid(HEADER_LENGTH + " is " + jsonLength + " but the body has "
                    + body.length + " bytes");
        }
        JsonNode root;
        try {
            root = JSON.readTree(body, 0, (int) jsonLength);
        } catch (IOException e) {
            throw InferenceException.invalid("request body is not valid JSON: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw InferenceException.invalid("request body must be a JSON object with \"inputs\"");
        }
        ByteBuffer binary = ByteBuffer.wrap(body, (int) jsonLength, body.length - (int) jsonLength).slice();
        List<Tensor> inputs = new ArrayList<>();
        for (JsonNode in : root.path("inputs")) {
            inputs.add(decodeInput(in, binary));
        }
        if (binary.hasRemaining()) {
            throw InferenceException.invalid(binary.remaining() + " bytes of binary data follow the JSON header but no"
                    + " input claims them with parameters.binary_data_size");
        }
        Set<String> outputs = new LinkedHashSet<>();
        Set<String> binaryOutputs = new LinkedHashSet<>();
        boolean allBinary = root.path("parameters").path("binary_data_output").asBoolean(false);
        Map<String, Integer> classifications = new LinkedHashMap<>();
        for (JsonNode out : root.path("outputs")) {
            String name = out.path("name").asText();
            outputs.add(name);
            JsonNode c = out.path("parameters").path("classification");
            if (!c.isMissingNode()) {
                if (!c.canConvertToInt() || !c.isIntegralNumber() || c.asInt() < 1) {
                    throw InferenceException.invalid("output '" + name + "' parameter 'classification' must be a"
                            + " positive integer (the number of classes wanted), got " + c);
                }
                classifications.put(name, c.asInt());
            }
            if (allBinary || out.path("parameters").path("binary_data").asBoolean(false)) {
                binaryOutputs.add(name);
            }
        }
        return new ParsedRequest(root.path("id").asText(""), inputs, outputs, binaryOutputs, allBinary,
                Map.copyOf(classifications));
    }

    /** A decoded request body; the model, version and deadline come from the URL and the server. */
    public record ParsedRequest(String id, List<Tensor> inputs, Set<String> outputs, Set<String> binaryOutputs,
                                boolean allBinary, Map<String, Integer> classifications) {
        public InferRequest toRequest(String model, String version) {
            return new InferRequest(model, version, id, inputs, outputs, Long.MAX_VALUE, InferRequest.NEVER_CANCELLED,
                    classifications);
        }

        boolean binary(String output) {
            return allBinary || binaryOutputs.contains(output);
        }
    }

    private static Tensor decodeInput(JsonNode in, ByteBuffer binary) {
        String name = in.path("name").asText();
        Datatype datatype = Datatype.parse(in.path("datatype").asText());
        if (datatype == null) {
            throw InferenceException.invalid("input '" + name + "' has unknown datatype '"
                    + in.path("datatype").asText() + "'; use one of " + List.of(Datatype.values()));
        }
        List<Long> dims = new ArrayList<>();
        for (JsonNode d : in.path("shape")) {
            if (!d.isIntegralNumber() || !d.canConvertToLong()) {
                throw InferenceException.invalid("input '" + name + "' has shape " + in.path("shape")
                        + "; a shape is a list of whole numbers");
            }
            dims.add(d.longValue());
        }
        long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
        JsonNode size = in.path("parameters").path("binary_data_size");
        if (!size.isMissingNode()) {
            int n = size.asInt();
            if (n < 0 || n > binary.remaining()) {
                throw InferenceException.invalid("input '" + name + "' claims " + n + " binary bytes but "
                        + binary.remaining() + " remain");
            }
            ByteBuffer part = binary.slice();
            part.limit(n);
            binary.position(binary.position() + n);
            return ProtoTensors.fromRaw(name, datatype, shape,
                    UnsafeByteOperations.unsafeWrap(part));
        }
        List<JsonNode> values = new ArrayList<>();
        flatten(in.path("data"), values);
        long expected;
        try {
            expected = Shapes.elementCount(shape);
        } catch (ArithmeticException e) {
            throw InferenceException.invalid("input '" + name + "' shape " + Shapes.format(shape) + " is too large");
        }
        if (values.size() != expected) {
            throw InferenceException.invalid("input '" + name + "' has " + values.size() + " values in data but shape "
                    + Shapes.format(shape) + " needs " + expected);
        }
        if (datatype == Datatype.BYTES) {
            return Tensor.ofStrings(name, shape, values.stream().map(v -> v.asText().getBytes(StandardCharsets.UTF_8))
                    .toArray(byte[][]::new));
        }
        if (datatype == Datatype.FP16 || datatype == Datatype.BF16) {
            throw InferenceException.invalid("input '" + name + "' is " + datatype + ", which JSON cannot carry; send"
                    + " it as binary data (parameters.binary_data_size)");
        }
        ByteBuffer b = ByteBuffer.allocateDirect(values.size() * datatype.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < values.size(); i++) {
            JsonNode v = values.get(i);
            switch (datatype) {
                case BOOL -> {
                    if (!v.isBoolean() && !(v.isIntegralNumber() && (v.asInt() == 0 || v.asInt() == 1))) {
                        throw notA(name, i, v, datatype, "true or false (or 1 or 0)");
                    }
                    b.put((byte) (v.asBoolean() ? 1 : 0));
                }
                case INT8 -> b.put((byte) whole(name, i, v, datatype, Byte.MIN_VALUE, Byte.MAX_VALUE));
                case UINT8 -> b.put((byte) whole(name, i, v, datatype, 0, 255));
                case INT16 -> b.putShort((short) whole(name, i, v, datatype, Short.MIN_VALUE, Short.MAX_VALUE));
                case UINT16 -> b.putShort((short) whole(name, i, v, datatype, 0, 65_535));
                case INT32 -> b.putInt((int) whole(name, i, v, datatype, Integer.MIN_VALUE, Integer.MAX_VALUE));
                case UINT32 -> b.putInt((int) whole(name, i, v, datatype, 0, 4_294_967_295L));
                case INT64 -> b.putLong(whole(name, i, v, datatype, Long.MIN_VALUE, Long.MAX_VALUE));
                case UINT64 -> b.putLong(unsigned64(name, i, v));
                case FP32 -> b.putFloat((float) real(name, i, v, datatype));
                case FP64 -> b.putDouble(real(name, i, v, datatype));
                default -> throw new IllegalStateException(datatype.name());
            }
        }
        b.flip();
        return Tensor.ofBuffer(name, datatype, shape, b);
    }

    private static final BigInteger UINT64_MAX = BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE);

    /**
     * A JSON element as a whole number within [min, max]. Anything else (text, a fraction, a value the
     * datatype cannot hold) is the caller's error: read as it was (0, cut, wrapped) it would be a silent
     * wrong answer.
     */
    private static long whole(String name, int i, JsonNode v, Datatype datatype, long min, long max) {
        if (v.isIntegralNumber() && v.canConvertToLong()) {
            // the usual case, without allocating per element
            long x = v.longValue();
            if (x >= min && x <= max) {
                return x;
            }
            throw notA(name, i, v, datatype, "a whole number from " + min + " to " + max);
        }
        BigInteger x = integral(v);
        if (x == null || x.compareTo(BigInteger.valueOf(min)) < 0 || x.compareTo(BigInteger.valueOf(max)) > 0) {
            throw notA(name, i, v, datatype, "a whole number from " + min + " to " + max);
        }
        return x.longValue();
    }

    private static long unsigned64(String name, int i, JsonNode v) {
        BigInteger x = integral(v);
        if (x == null || x.signum() < 0 || x.compareTo(UINT64_MAX) > 0) {
            throw notA(name, i, v, Datatype.UINT64, "a whole number from 0 to " + UINT64_MAX);
        }
        return x.longValue();
    }

    /** The element's value when it is a whole number (1 or 1.0), else null. */
    private static BigInteger integral(JsonNode v) {
        if (v.isIntegralNumber()) {
            return v.canConvertToLong() ? BigInteger.valueOf(v.longValue()) : v.bigIntegerValue();
        }
        if (v.isNumber()) {
            BigDecimal d = v.decimalValue();
            return d.signum() == 0 || d.stripTrailingZeros().scale() <= 0 ? d.toBigInteger() : null;
        }
        return null;
    }

    /** A number, or "NaN", "Infinity", "-Infinity", as answers carry those values. */
    private static double real(String name, int i, JsonNode v, Datatype datatype) {
        if (v.isNumber()) {
            return v.doubleValue();
        }
        if (v.isTextual()) {
            switch (v.textValue()) {
                case "NaN" -> {
                    return Double.NaN;
                }
                case "Infinity" -> {
                    return Double.POSITIVE_INFINITY;
                }
                case "-Infinity" -> {
                    return Double.NEGATIVE_INFINITY;
                }
                default -> {
                    // refused below
                }
            }
        }
        throw notA(name, i, v, datatype, "a number (or \"NaN\", \"Infinity\", \"-Infinity\")");
    }

    private static InferenceException notA(String name, int i, JsonNode v, Datatype datatype, String wanted) {
        String shown = v.toString();
        return InferenceException.invalid("input '" + name + "' element " + i + " is "
                + (shown.length() > 40 ? shown.substring(0, 40) + "..." : shown) + "; " + datatype + " takes " + wanted);
    }

    private static void flatten(JsonNode node, List<JsonNode> into) {
        if (node.isArray()) {
            node.forEach(n -> flatten(n, into));
        } else if (!node.isMissingNode() && !node.isNull()) {
            into.add(node);
        }
    }

    public static Body encode(InferResult result, ParsedRequest request) {
        ObjectNode root = JSON.createObjectNode();
        root.put("model_name", result.modelName());
        root.put("model_version", result.modelVersion());
        if (!result.id().isEmpty()) {
            root.put("id", result.id());
        }
        ArrayNode outputs = root.putArray("outputs");
        ByteArrayOutputStream binary = new ByteArrayOutputStream();
        for (Tensor t : result.outputs()) {
            ObjectNode out = outputs.addObject();
            out.put("name", t.name());
            out.put("datatype", t.datatype().name());
            ArrayNode shape = out.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
            if (request.binary(t.name()) || t.datatype() == Datatype.FP16 || t.datatype() == Datatype.BF16) {
                byte[] raw = ProtoTensors.toRaw(t).toByteArray();
                out.putObject("parameters").put("binary_data_size", raw.length);
                binary.writeBytes(raw);
            } else {
                writeData(out.putArray("data"), t);
            }
        }
        try {
            return new Body(JSON.writeValueAsBytes(root), binary.toByteArray());
        } catch (IOException e) {
            throw new InferenceException(InferenceException.Kind.INTERNAL, "cannot write response: " + e.getMessage());
        }
    }

    private static void writeData(ArrayNode data, Tensor t) {
        if (t.datatype() == Datatype.BYTES) {
            for (byte[] s : t.strings()) {
                data.add(new String(s, StandardCharsets.UTF_8));
            }
            return;
        }
        ByteBuffer b = t.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            switch (t.datatype()) {
                case BOOL -> data.add(b.get() != 0);
                case INT8 -> data.add(b.get());
                case UINT8 -> data.add(Byte.toUnsignedInt(b.get()));
                case INT16 -> data.add(b.getShort());
                case UINT16 -> data.add(Short.toUnsignedInt(b.getShort()));
                case INT32 -> data.add(b.getInt());
                case UINT32 -> data.add(Integer.toUnsignedLong(b.getInt()));
                case INT64 -> data.add(b.getLong());
                case UINT64 -> data.add(new BigInteger(Long.toUnsignedString(b.getLong())));
                case FP32 -> data.add(b.getFloat());
                case FP64 -> data.add(b.getDouble());
                default -> throw new IllegalStateException(t.datatype().name());
            }
        }
    }

    public static byte[] error(String message) {
        ObjectNode root = JSON.createObjectNode();
        root.put("error", message);
        try {
            return JSON.writeValueAsBytes(root);
        } catch (IOException e) {
            return ("{\"error\":\"" + message.replace("\"", "'") + "\"}").getBytes(StandardCharsets.UTF_8);
        }
    }
}
