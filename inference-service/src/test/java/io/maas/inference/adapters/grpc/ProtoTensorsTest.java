package io.maas.inference.adapters.grpc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import org.junit.jupiter.api.Test;

import com.google.protobuf.ByteString;

import io.maas.inference.domain.Datatype;
import io.maas.inference.domain.InferRequest;
import io.maas.inference.domain.InferenceException;
import io.maas.inference.domain.Tensor;
import io.maas.proto.inference.InferTensorContents;
import io.maas.proto.inference.ModelInferRequest;

/** Typed contents become the same little-endian bytes raw contents would carry. */
class ProtoTensorsTest {

    private static Tensor decodeOne(String datatype, InferTensorContents.Builder contents, long... shape) {
        ModelInferRequest.InferInputTensor.Builder in = ModelInferRequest.InferInputTensor.newBuilder()
                .setName("x").setDatatype(datatype).setContents(contents);
        for (long d : shape) {
            in.addShape(d);
        }
        InferRequest r = ProtoTensors.decode(ModelInferRequest.newBuilder().setModelName("m").addInputs(in).build(),
                Long.MAX_VALUE, InferRequest.NEVER_CANCELLED);
        return r.inputs().get(0);
    }

    private static byte[] bytes(Tensor t) {
        ByteBuffer b = t.data().duplicate();
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    @Test
    void narrowIntegersAreTruncatedToTheirWidthLittleEndian() {
        assertArrayEquals(new byte[]{(byte) 0xFF, 0x7F}, bytes(decodeOne("INT8",
                InferTensorContents.newBuilder().addIntContents(-1).addIntContents(127), 2)));
        assertArrayEquals(new byte[]{0x34, 0x12, (byte) 0xFF, (byte) 0xFF}, bytes(decodeOne("INT16",
                InferTensorContents.newBuilder().addIntContents(0x1234).addIntContents(-1), 2)));
        assertArrayEquals(new byte[]{(byte) 0xFF, (byte) 0xFF}, bytes(decodeOne("UINT16",
                InferTensorContents.newBuilder().addUintContents(65535), 1)));
        assertArrayEquals(new byte[]{1, 0}, bytes(decodeOne("BOOL",
                InferTensorContents.newBuilder().addBoolContents(true).addBoolContents(false), 2)));
    }

    @Test
    void wideTypesKeepEveryBit() {
        ByteBuffer u64 = decodeOne("UINT64", InferTensorContents.newBuilder().addUint64Contents(-1L), 1).data()
                .duplicate().order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(-1L, u64.getLong());
        ByteBuffer f64 = decodeOne("FP64", InferTensorContents.newBuilder().addFp64Contents(Math.PI), 1).data()
                .duplicate().order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(Math.PI, f64.getDouble());
        Tensor s = decodeOne("BYTES", InferTensorContents.newBuilder().addBytesContents(ByteString.copyFromUtf8("ab")), 1);
        assertEquals(Datatype.BYTES, s.datatype());
        assertArrayEquals("ab".getBytes(), s.strings()[0]);
    }

    @Test
    void countMismatchAndTruncatedStringsAreRefused() {
        InferenceException e = assertThrows(InferenceException.class, () -> decodeOne("FP32",
                InferTensorContents.newBuilder().addFp32Contents(1f), 2, 2));
        assertTrue(e.getMessage().contains("1 values in contents but shape [2, 2] needs 4"), e.getMessage());
        InferenceException t = assertThrows(InferenceException.class, () -> ProtoTensors.fromRaw("s", Datatype.BYTES,
                new long[]{1}, ByteString.copyFrom(new byte[]{9, 0, 0, 0, 'a'})));
        assertTrue(t.getMessage().contains("declares 9 bytes but only 1 remain"), t.getMessage());
    }
}
