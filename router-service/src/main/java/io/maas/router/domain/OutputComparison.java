package io.maas.router.domain;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.maas.proto.inference.ModelInferResponse;

/**
 * Compares the outputs of a primary and a shadow ModelInferResponse: for every output present in
 * both with the same datatype and shape, and a floating-point datatype (FP32, FP64, FP16), the
 * maximum absolute difference and the cosine similarity. Pure: no I/O, no state.
 */
public final class OutputComparison {

    /** One output compared. */
    public record OutputDiff(String output, double maxAbsDiff, double cosine) {
    }

    /**
     * The outcome for one call: outputs compared, and the names of outputs present in both
     * whose datatype or shape differ (or whose contents do not match the shape).
     */
    public record Result(List<OutputDiff> compared, List<String> mismatched) {
    }

    private OutputComparison() {
    }

    public static Result compare(ModelInferResponse primary, ModelInferResponse shadow) {
        Map<String, Integer> shadowIndex = new HashMap<>();
        for (int i = 0; i < shadow.getOutputsCount(); i++) {
            shadowIndex.put(shadow.getOutputs(i).getName(), i);
        }
        List<OutputDiff> compared = new ArrayList<>();
        List<String> mismatched = new ArrayList<>();
        for (int i = 0; i < primary.getOutputsCount(); i++) {
            var p = primary.getOutputs(i);
            Integer j = shadowIndex.get(p.getName());
            if (j == null) {
                continue;
            }
            var s = shadow.getOutputs(j);
            if (!p.getDatatype().equals(s.getDatatype()) || !p.getShapeList().equals(s.getShapeList())) {
                mismatched.add(p.getName());
                continue;
            }
            if (!floating(p.getDatatype())) {
                continue;
            }
            double[] a = values(primary, i);
            double[] b = values(shadow, j);
            long n = elements(p.getShapeList());
            if (a == null || b == null || a.length != n || b.length != n) {
                mismatched.add(p.getName());
                continue;
            }
            compared.add(new OutputDiff(p.getName(), maxAbsDiff(a, b), cosine(a, b)));
        }
        return new Result(List.copyOf(compared), List.copyOf(mismatched));
    }

    static boolean floating(String datatype) {
        return datatype.equals("FP32") || datatype.equals("FP64") || datatype.equals("FP16");
    }

    private static long elements(List<Long> shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
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

    public static double maxAbsDiff(double[] a, double[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            double d = Math.abs(a[i] - b[i]);
            if (d > max || Double.isNaN(d)) {
                max = d;
            }
        }
        return max;
    }

    /** Cosine similarity; 1 when both vectors are zero, 0 when only one is. */
    public static double cosine(double[] a, double[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        if (na == 0 && nb == 0) {
            return 1;
        }
        if (na == 0 || nb == 0) {
            return 0;
        }
        return dot / (Math.sqrt(na) * Math.sqrt(nb));
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
