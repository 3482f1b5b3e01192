package io.maas.router.adapters;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import io.maas.proto.inference.ModelInferResponse;
import io.maas.router.domain.OutputComparison;

/** Decodes ModelInferResponse outputs for {@link OutputComparison}: the only place the router reads tensors. */
public final class ShadowOutputs {

    private ShadowOutputs() {
    }

    public static OutputComparison.Result compare(ModelInferResponse primary, ModelInferResponse shadow) {
        return OutputComparison.compare(outputs(primary), outputs(shadow));
    }

    static List<OutputComparison.Output> outputs(ModelInferResponse r) {
        List<OutputComparison.Output> out = new ArrayList<>(r.getOutputsCount());
        for (int i = 0; i < r.getOutputsCount(); i++) {
            var o = r.getOutputs(i);
            out.add(new OutputComparison.Output(o.getName(), o.getDatatype(), o.getShapeList(),
                    OutputComparison.floating(o.getDatatype()) ? values(r, i) : null));
        }
        return out;
    }

    /** An output's values as doubles, from raw_output_contents (little-endian) or typed contents; null if absent. */
    static double[] values(ModelInferResponse r, int index) {
        var out = r.getOutputs(index);
        String dt = out.getDatatype();
        if (index < r.getRawOutputContentsCount()) {
            ByteBuffer buf = r.getRawOutputContents(index).asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            int width = dt.equals("FP64") ? 8 : dt.equals("FP32") ? 4 : 2;
            if (buf.remaining() % width != 0) {
                return null;
            }
            double[] v = new double[buf.remaining() / width];
            for (int k = 0; k < v.length; k++) {
                v[k] = switch (width) {
                    case 8 -> buf.getDouble();
                    case 4 -> buf.getFloat();
                    default -> halfToFloat(buf.getShort());
                };
            }
            return v;
        }
        var c = out.getContents();
        if (dt.equals("FP32") && c.getFp32ContentsCount() > 0) {
            double[] v = new double[c.getFp32ContentsCount()];
            for (int k = 0; k < v.length; k++) {
                v[k] = c.getFp32Contents(k);
            }
            return v;
        }
        if (dt.equals("FP64") && c.getFp64ContentsCount() > 0) {
            double[] v = new double[c.getFp64ContentsCount()];
            for (int k = 0; k < v.length; k++) {
                v[k] = c.getFp64Contents(k);
            }
            return v;
        }
        return null;
    }

    /** IEEE 754 binary16 to float (Float.float16ToFloat arrived only in Java 20). */
    static float halfToFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        if (exp == 0) {
            float f = mant * 0x1p-24f;
            return sign == 0 ? f : -f;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }
}
