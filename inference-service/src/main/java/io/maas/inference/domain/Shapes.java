package io.maas.inference.domain;

import java.util.Arrays;

/** Shape arithmetic; -1 marks a dimension of any size in a model's signature. */
public final class Shapes {
    private Shapes() {
    }

    public static long elementCount(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** True when {@code actual} fits {@code expected}, where -1 in expected accepts any size. */
    public static boolean matches(long[] expected, long[] actual) {
        if (expected.length != actual.length) {
            return false;
        }
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] >= 0 && expected[i] != actual[i]) {
                return false;
            }
        }
        return true;
    }

    /** Same dimensions after the first (the batch dimension). */
    public static boolean sameRowShape(long[] a, long[] b) {
        return a.length == b.length && a.length > 0
                && Arrays.equals(a, 1, a.length, b, 1, b.length);
    }

    public static String format(long[] shape) {
        return Arrays.toString(shape);
    }
}
