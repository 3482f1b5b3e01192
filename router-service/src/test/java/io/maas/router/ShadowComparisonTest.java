package io.maas.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

import org.junit.jupiter.api.Test;

import com.google.protobuf.ByteString;

import io.maas.proto.inference.InferTensorContents;
import io.maas.proto.inference.ModelInferResponse;
import io.maas.router.adapters.ShadowOutputs;
import io.maas.router.domain.OutputComparison;
import io.maas.router.domain.Route;
import io.maas.router.domain.ShadowRules;

/** The comparison math and the rule parsing, on synthetic data (no processes). */
class ShadowComparisonTest {

    static ModelInferResponse.InferOutputTensor.Builder out(String name, String dt, long... shape) {
        var b = ModelInferResponse.InferOutputTensor.newBuilder().setName(name).setDatatype(dt);
        for (long d : shape) {
            b.addShape(d);
        }
        return b;
    }

    static ByteString fp32(float... v) {
        ByteBuffer buf = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            buf.putFloat(f);
        }
        return ByteString.copyFrom(buf.array());
    }

    static ByteString fp16(short... v) {
        ByteBuffer buf = ByteBuffer.allocate(v.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (short s : v) {
            buf.putShort(s);
        }
        return ByteString.copyFrom(buf.array());
    }

    @Test
    void maxAbsDiffAndCosine() {
        double[] a = { 1, 2, 3, 4 };
        assertEquals(0, OutputComparison.maxAbsDiff(a, a.clone()));
        assertEquals(1, OutputComparison.cosine(a, a.clone()), 1e-12);
        assertEquals(0.5, OutputComparison.maxAbsDiff(a, new double[] { 1, 2.5, 3, 3.8 }), 1e-12);
        // orthogonal, opposite, scaled
        assertEquals(0, OutputComparison.cosine(new double[] { 1, 0 }, new double[] { 0, 1 }), 1e-12);
        assertEquals(-1, OutputComparison.cosine(new double[] { 1, 2 }, new double[] { -1, -2 }), 1e-12);
        assertEquals(1, OutputComparison.cosine(new double[] { 1, 2 }, new double[] { 2, 4 }), 1e-12);
        assertEquals(Math.sqrt(0.5), OutputComparison.cosine(new double[] { 1, 0 }, new double[] { 1, 1 }), 1e-12);
        // zero vectors
        assertEquals(1, OutputComparison.cosine(new double[] { 0, 0 }, new double[] { 0, 0 }));
        assertEquals(0, OutputComparison.cosine(new double[] { 0, 0 }, new double[] { 1, 0 }));
        assertTrue(Double.isNaN(OutputComparison.maxAbsDiff(new double[] { 1, Double.NaN }, new double[] { 1, 1 })));
    }

    @Test
    void comparesRawAndTypedOutputsOfTheSameShape() {
        var primary = ModelInferResponse.newBuilder()
                .addOutputs(out("emb", "FP32", 1, 3)).addRawOutputContents(fp32(1, 2, 3))
                .addOutputs(out("ids", "INT64", 1, 1)).addRawOutputContents(ByteString.copyFrom(new byte[8]))
                .addOutputs(out("only_primary", "FP32", 1)).addRawOutputContents(fp32(1))
                .build();
        // shadow: outputs in another order, typed contents instead of raw
        var shadow = ModelInferResponse.newBuilder()
                .addOutputs(out("ids", "INT64", 1, 1).setContents(InferTensorContents.newBuilder().addInt64Contents(0)))
                .addOutputs(out("emb", "FP32", 1, 3).setContents(InferTensorContents.newBuilder()
                        .addFp32Contents(1.25f).addFp32Contents(2).addFp32Contents(3)))
                .build();
        var r = ShadowOutputs.compare(primary, shadow);
        assertEquals(List.of(), r.mismatched());
        assertEquals(1, r.compared().size(), r::toString);
        var d = r.compared().get(0);
        assertEquals("emb", d.output());
        assertEquals(0.25, d.maxAbsDiff(), 1e-7);
        double expected = (1.25 + 4 + 9) / (Math.sqrt(14) * Math.sqrt(1.5625 + 4 + 9));
        assertEquals(expected, d.cosine(), 1e-9);
    }

    @Test
    void shapeOrDatatypeMismatchIsReported() {
        var primary = ModelInferResponse.newBuilder()
                .addOutputs(out("a", "FP32", 1, 2)).addRawOutputContents(fp32(1, 2))
                .addOutputs(out("b", "FP32", 2)).addRawOutputContents(fp32(1, 2))
                .addOutputs(out("c", "FP32", 2)).addRawOutputContents(fp32(1, 2))
                .build();
        var shadow = ModelInferResponse.newBuilder()
                .addOutputs(out("a", "FP32", 2, 1)).addRawOutputContents(fp32(1, 2))
                .addOutputs(out("b", "FP64", 2)).addRawOutputContents(ByteString.copyFrom(new byte[16]))
                .addOutputs(out("c", "FP32", 2)).addRawOutputContents(fp32(1, 2, 3)) // contents disagree with shape
                .build();
        var r = ShadowOutputs.compare(primary, shadow);
        assertEquals(List.of("a", "b", "c"), r.mismatched());
        assertEquals(List.of(), r.compared());
    }

    @Test
    void fp64AndFp16() {
        ByteBuffer a = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putDouble(1).putDouble(-2);
        var p64 = ModelInferResponse.newBuilder().addOutputs(out("x", "FP64", 2))
                .addRawOutputContents(ByteString.copyFrom(a.array())).build();
        var s64 = ModelInferResponse.newBuilder().addOutputs(out("x", "FP64", 2).setContents(
                InferTensorContents.newBuilder().addFp64Contents(1).addFp64Contents(-2.001))).build();
        var d = ShadowOutputs.compare(p64, s64).compared().get(0);
        assertEquals(0.001, d.maxAbsDiff(), 1e-12);
        // FP16: 1.0 = 0x3c00, 2.0 = 0x4000, -1.5 = 0xbe00, 0.000061035 (min normal) = 0x0400
        var p16 = ModelInferResponse.newBuilder().addOutputs(out("h", "FP16", 3))
                .addRawOutputContents(fp16((short) 0x3c00, (short) 0x4000, (short) 0x0400)).build();
        var s16 = ModelInferResponse.newBuilder().addOutputs(out("h", "FP16", 3))
                .addRawOutputContents(fp16((short) 0x3c00, (short) 0xbe00, (short) 0x0400)).build();
        var h = ShadowOutputs.compare(p16, s16).compared().get(0);
        assertEquals(3.5, h.maxAbsDiff(), 1e-12);
        assertEquals((1 - 3 + Math.pow(2, -28)) / (Math.sqrt(5 + Math.pow(2, -28)) * Math.sqrt(3.25 + Math.pow(2, -28))),
                h.cosine(), 1e-9);
    }

    @Test
    void rules() {
        var r = ShadowRules.parse(" minilm:2=0.1; simple:canary=1 ;");
        Route route = new Route("simple", "1", "3", 0, 7);
        assertEquals("2", r.shadowVersion("minilm", "1", null));
        assertNull(r.shadowVersion("minilm", "2", null), "never mirrored to the version that answered");
        assertEquals("3", r.shadowVersion("simple", "1", route));
        assertNull(r.shadowVersion("simple", "1", new Route("simple", "1", "", 0, 7)), "no canary in the table");
        assertNull(r.shadowVersion("other", "1", null));
        assertEquals(0.1, r.rule("minilm").share());
        assertTrue(ShadowRules.parse("").isEmpty());
        assertTrue(ShadowRules.parse(null).isEmpty());
        for (String bad : List.of("minilm=0.1", "minilm:2", "minilm:2=1.5", "minilm:2=x", "m:1=0.1;m:2=0.2")) {
            assertThrows(IllegalArgumentException.class, () -> ShadowRules.parse(bad), bad);
        }
    }
}
