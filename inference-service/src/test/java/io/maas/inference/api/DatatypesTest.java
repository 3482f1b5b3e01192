package io.maas.inference.api;

import static io.maas.inference.TestModels.input;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import com.google.protobuf.ByteString;

import io.maas.proto.inference.InferTensorContents;
import io.maas.proto.inference.ModelInferRequest;
import io.maas.proto.inference.ModelInferResponse;
import io.quarkus.test.junit.QuarkusTest;

/**
 * Every protocol datatype through the real 'identity' model (one Identity node per type): what
 * goes in as raw bytes or typed contents comes back byte for byte.
 */
@QuarkusTest
class DatatypesTest extends GrpcTestSupport {
    private static final List<String> FIXED = List.of("BOOL", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16",
            "UINT32", "UINT64", "FP16", "FP32", "FP64");
    private static final Map<String, Integer> SIZE = Map.ofEntries(Map.entry("BOOL", 1), Map.entry("INT8", 1),
            Map.entry("INT16", 2), Map.entry("INT32", 4), Map.entry("INT64", 8), Map.entry("UINT8", 1),
            Map.entry("UINT16", 2), Map.entry("UINT32", 4), Map.entry("UINT64", 8), Map.entry("FP16", 2),
            Map.entry("FP32", 4), Map.entry("FP64", 8));

    /** 2x3 elements of each type with values at the edges of its range (sign bits, high bits). */
    private static ByteString raw(String type) {
        int size = SIZE.get(type);
        ByteBuffer b = ByteBuffer.allocate(6 * size).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 6; i++) {
            switch (type) {
                case "BOOL" -> b.put((byte) (i % 2));
                case "FP16" -> b.putShort((short) (0x3C00 + i)); // 1.0 and its neighbours
                case "FP32" -> b.putFloat(-1.5f * i);
                case "FP64" -> b.putDouble(1e300 / (i + 1));
                default -> {
                    for (int k = 0; k < size; k++) {
                        b.put((byte) (0xF0 | (i + k)));   // high bit set: unsigned > signed max
                    }
                }
            }
        }
        return ByteString.copyFrom(b.array());
    }

    private static ByteString strings(String... values) {
        ByteBuffer b = ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN);
        for (String v : values) {
            byte[] s = v.getBytes(StandardCharsets.UTF_8);
            b.putInt(s.length).put(s);
        }
        return ByteString.copyFrom(b.array(), 0, b.position());
    }

    @Test
    void everyDatatypeRoundTripsAsRawBytes() {
        ModelInferRequest.Builder request = ModelInferRequest.newBuilder().setModelName("identity");
        for (String type : FIXED) {
            request.addInputs(input("IN_" + type, type, 2, 3)).addRawInputContents(raw(type));
        }
        ByteString text = strings("héllo", "", "wörld", "a", "bb", "ccc");
        request.addInputs(input("IN_STRING", "BYTES", 2, 3)).addRawInputContents(text);
        ModelInferResponse response = stub().modelInfer(request.build());
        for (int i = 0; i < response.getOutputsCount(); i++) {
            var out = response.getOutputs(i);
            String type = out.getName().substring("OUT_".length());
            assertEquals(List.of(2L, 3L), out.getShapeList());
            if (type.equals("STRING")) {
                assertEquals("BYTES", out.getDatatype());
                assertEquals(text, response.getRawOutputContents(i));
            } else {
                assertEquals(type, out.getDatatype());
                assertEquals(raw(type), response.getRawOutputContents(i), type);
            }
        }
        assertEquals(FIXED.size() + 1, response.getOutputsCount());
    }

    @Test
    void typedContentsTheirDatatypeCannotHoldAreRefusedNotWrapped() {
        ModelInferRequest.Builder int8 = ModelInferRequest.newBuilder().setModelName("identity");
        int8.addInputs(input("IN_INT8", "INT8", 1, 2).toBuilder()
                .setContents(InferTensorContents.newBuilder().addIntContents(5).addIntContents(300)));
        assertStatus(io.grpc.Status.Code.INVALID_ARGUMENT, () -> stub().modelInfer(int8.build()),
                "'IN_INT8' element 1 is 300", "INT8 takes a whole number from -128 to 127");
        ModelInferRequest.Builder uint16 = ModelInferRequest.newBuilder().setModelName("identity");
        uint16.addInputs(input("IN_UINT16", "UINT16", 1, 1).toBuilder()
                .setContents(InferTensorContents.newBuilder().addUintContents(-1)));
        assertStatus(io.grpc.Status.Code.INVALID_ARGUMENT, () -> stub().modelInfer(uint16.build()),
                "element 0 is 4294967295", "from 0 to 65535");
    }

    @Test
    void fp16HasNoTypedContentsField() {
        ModelInferRequest.Builder request = ModelInferRequest.newBuilder().setModelName("identity");
        request.addInputs(input("IN_FP16", "FP16", 1, 1).toBuilder()
                .setContents(InferTensorContents.newBuilder().addFp32Contents(1f)));
        assertStatus(io.grpc.Status.Code.INVALID_ARGUMENT, () -> stub().modelInfer(request.build()),
                "IN_FP16", "raw_input_contents");
    }
}
