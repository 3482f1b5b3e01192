package io.maas.inference.adapters.rest;

import java.math.BigInteger;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
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

    public static ParsedRequest decode(byte[] body, Integer headerLength) {
        int jsonLength = headerLength == null ? body.length : headerLength;
        if (jsonLength < 0 || jsonLength > body.length) {
            throw InferenceException.invalid(HEADER_LENGTH + " is " + jsonLength + " but the body has "
                    + body.length + " bytes");
        }
        JsonNode root;
        try {
            root = JSON.readTree(body, 0, jsonLength);
        } catch (IOException e) {
            throw InferenceException.invalid("request body is not valid JSON: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw InferenceException.invalid("request body must be a JSON object with \"inputs\"");
        }
        ByteBuffer binary = ByteBuffer.wrap(body, jsonLength, body.length - jsonLength).slice();
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
        in.path("shape").forEach(d -> dims.add(d.asLong()));
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
        for (JsonNode v : values) {
            switch (datatype) {
                case BOOL -> b.put((byte) (v.asBoolean() ? 1 : 0));
                case INT8, UINT8 -> b.put((byte) v.asLong());
                case INT16, UINT16 -> b.putShort((short) v.asLong());
                case INT32, UINT32 -> b.putInt((int) v.asLong());
                case INT64 -> b.putLong(v.asLong());
                case UINT64 -> b.putLong(Long.parseUnsignedLong(v.asText()));
                case FP32 -> b.putFloat((float) v.asDouble());
                case FP64 -> b.putDouble(v.asDouble());
                default -> throw new IllegalStateException(datatype.name());
            }
        }
        b.flip();
        return Tensor.ofBuffer(name, datatype, shape, b);
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
