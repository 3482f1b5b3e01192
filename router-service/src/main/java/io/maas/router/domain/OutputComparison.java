package io.maas.router.domain;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Compares the outputs of a primary's and a shadow's response: for every output present in
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

    /**
     * One output of a response, decoded by the transport.
     *
     * @param values the elements as doubles for floating-point outputs, null otherwise or when unreadable
     */
    public record Output(String name, String datatype, List<Long> shape, double[] values) {
    }

    public static Result compare(List<Output> primary, List<Output> shadow) {
        Map<String, Output> shadowByName = new HashMap<>();
        for (Output o : shadow) {
            shadowByName.put(o.name(), o);
        }
        List<OutputDiff> compared = new ArrayList<>();
        List<String> mismatched = new ArrayList<>();
        for (Output p : primary) {
            Output s = shadowByName.get(p.name());
            if (s == null) {
                continue;
            }
            if (!p.datatype().equals(s.datatype()) || !p.shape().equals(s.shape())) {
                mismatched.add(p.name());
                continue;
            }
            if (!floating(p.datatype())) {
                continue;
            }
            double[] a = p.values();
            double[] b = s.values();
            long n = elements(p.shape());
            if (a == null || b == null || a.length != n || b.length != n) {
                mismatched.add(p.name());
                continue;
            }
            compared.add(new OutputDiff(p.name(), maxAbsDiff(a, b), cosine(a, b)));
        }
        return new Result(List.copyOf(compared), List.copyOf(mismatched));
    }

    public static boolean floating(String datatype) {
        return datatype.equals("FP32") || datatype.equals("FP64") || datatype.equals("FP16");
    }

    private static long elements(List<Long> shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
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

}
