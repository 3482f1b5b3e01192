package io.maas.inference.domain;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Triton's classification extension: a requested output answered as its top k classes per row,
 * each a BYTES element "score:index" or "score:index:label" (labels from the output's
 * label_filename), best first. Scores are the output's own values (no softmax is applied here).
 */
public final class Classification {
    private Classification() {
    }

    /** @throws InferenceException INVALID_ARGUMENT when the output is not a numeric [rows, classes] tensor */
    /** Labels one classified output may answer in one call (a batch of 64 over 1,000 classes, all of them: 64,000). */
    public static final long MAX_LABELS = 100_000;

    public static Tensor topK(Tensor out, int k, List<String> labels) {
        if (out.datatype() == Datatype.BYTES || out.datatype() == Datatype.BOOL || out.shape().length < 1) {
            throw InferenceException.invalid("output '" + out.name() + "' (" + out.datatype()
                    + Shapes.format(out.shape()) + ") cannot be classified; only numeric outputs can");
        }
        long rows = out.shape().length == 1 ? 1 : out.shape()[0];
        long classes = out.elementCount() / Math.max(1, rows);
        if (k < 1) {
            throw InferenceException.invalid("classification count for output '" + out.name() + "' is " + k
                    + "; ask for 1 or more classes");
        }
        int keep = (int) Math.min(k, classes);
        if (rows * keep > MAX_LABELS) {
            // one label string per answer: a huge k on a large output (a transformer's hidden states) ran a pod out of heap
            throw InferenceException.invalid("classification of output '" + out.name() + "' would answer " + rows * keep
                    + " labels (" + rows + " rows x " + keep + " classes of " + classes + "); at most " + MAX_LABELS
                    + " per output in one call: ask for fewer classes, or classify an output of class scores");
        }
        double[] values = Numbers.toDoubles(out);
        byte[][] answer = new byte[(int) (rows * keep)][];
        for (int r = 0; r < rows; r++) {
            int[] top = Numbers.topIndices(values, r * (int) classes, (int) classes, keep);
            for (int j = 0; j < keep; j++) {
                int c = top[j];
                String text = (float) values[r * (int) classes + c] + ":" + c
                        + (c < labels.size() ? ":" + labels.get(c) : "");
                answer[r * keep + j] = text.getBytes(StandardCharsets.UTF_8);
            }
        }
        long[] shape = out.shape().length == 1 ? new long[]{keep} : new long[]{rows, keep};
        return Tensor.ofStrings(out.name(), shape, answer);
    }

    /** Plain numeric helpers shared by the classification extension and the built-in steps. */
    public static final class Numbers {
        private Numbers() {
        }

        public static double[] toDoubles(Tensor t) {
            int n = (int) t.elementCount();
            double[] v = new double[n];
            ByteBuffer b = t.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < n; i++) {
                v[i] = switch (t.datatype()) {
                    case FP32 -> b.getFloat();
                    case FP64 -> b.getDouble();
                    case INT8 -> b.get();
                    case UINT8 -> b.get() & 0xff;
                    case INT16 -> b.getShort();
                    case UINT16 -> b.getShort() & 0xffff;
                    case INT32 -> b.getInt();
                    case UINT32 -> b.getInt() & 0xffffffffL;
                    case INT64, UINT64 -> b.getLong();
                    default -> throw InferenceException.invalid("output '" + t.name() + "' of datatype "
                            + t.datatype() + " cannot be classified");
                };
            }
            return v;
        }

        /** Indices of the k largest of values[from, from+n), largest first; ties go to the lower index. */
        public static int[] topIndices(double[] values, int from, int n, int k) {
            int[] top = new int[k];
            int filled = 0;
            for (int i = 0; i < n; i++) {
                double v = values[from + i];
                int pos = filled;
                while (pos > 0 && values[from + top[pos - 1]] < v) {
                    pos--;
                }
                if (pos < k) {
                    int end = Math.min(filled, k - 1);
                    System.arraycopy(top, pos, top, pos + 1, end - pos);
                    top[pos] = i;
                    filled = Math.min(filled + 1, k);
                }
            }
            return top;
        }
    }
}
