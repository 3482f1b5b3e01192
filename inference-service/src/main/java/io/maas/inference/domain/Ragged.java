package io.maas.inference.domain;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * Ragged batching: requests whose inputs differ in their variable dimensions (texts of different
 * token counts) are joined by padding every request to the largest size of each dimension, with
 * zeros (the pad token id and a zero attention mask for a BERT-style model), and each caller's
 * outputs are cut back to its own sizes along the dimensions that the model names like the padded
 * ones, so a caller gets the same shapes it gets alone.
 */
final class Ragged {
    private Ragged() {
    }

    /** The largest size of each dimension after the batch dimension, over the parts. */
    static long[] maxRowShape(List<Tensor> parts) {
        long[] max = new long[parts.get(0).shape().length - 1];
        for (Tensor t : parts) {
            for (int d = 0; d < max.length; d++) {
                max[d] = Math.max(max[d], t.shape()[d + 1]);
            }
        }
        return max;
    }

    /** The parts stacked along the batch dimension, each zero-padded to {@code rowShape}. */
    static Tensor pad(String name, List<Tensor> parts, long[] rowShape) {
        Tensor first = parts.get(0);
        int size = first.datatype().byteSize();
        long rows = parts.stream().mapToLong(Tensor::rows).sum();
        long rowElements = Shapes.elementCount(rowShape);
        ByteBuffer out = ByteBuffer.allocateDirect((int) (rows * rowElements * size)).order(ByteOrder.LITTLE_ENDIAN);
        long row = 0;
        for (Tensor t : parts) {
            long[] own = java.util.Arrays.copyOfRange(t.shape(), 1, t.shape().length);
            copy(t.data(), own, out, rowShape, t.rows(), row, size);
            row += t.rows();
        }
        long[] shape = new long[rowShape.length + 1];
        shape[0] = rows;
        System.arraycopy(rowShape, 0, shape, 1, rowShape.length);
        return Tensor.ofBuffer(name, first.datatype(), shape, out);
    }

    /**
     * Rows [offset, offset+rows) of a batched output, cut to {@code ownRowShape} (each size at most
     * the output's); a fresh buffer, since the kept elements are not contiguous.
     */
    static Tensor crop(Tensor out, long offset, long rows, long[] ownRowShape) {
        int size = out.datatype().byteSize();
        long[] rowShape = java.util.Arrays.copyOfRange(out.shape(), 1, out.shape().length);
        long srcRowElements = Shapes.elementCount(rowShape);
        ByteBuffer src = out.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        src.position(src.position() + (int) (offset * srcRowElements * size));
        ByteBuffer dst = ByteBuffer.allocateDirect((int) (rows * Shapes.elementCount(ownRowShape) * size))
                .order(ByteOrder.LITTLE_ENDIAN);
        copy(src.slice().order(ByteOrder.LITTLE_ENDIAN), rowShape, dst, ownRowShape, rows, 0, size);
        long[] shape = new long[ownRowShape.length + 1];
        shape[0] = rows;
        System.arraycopy(ownRowShape, 0, shape, 1, ownRowShape.length);
        return Tensor.ofBuffer(out.name(), out.datatype(), shape, dst);
    }

    /**
     * Copies {@code rows} rows of shape {@code from} (row-major, starting at src's position) into dst
     * rows of shape {@code to} starting at row {@code dstRow}: the common leading part of each
     * dimension, in contiguous runs of the last dimension. Elements of dst outside it stay as they are.
     */
    private static void copy(ByteBuffer src, long[] from, ByteBuffer dst, long[] to, long rows, long dstRow, int size) {
        int rank = from.length;
        long fromRow = Shapes.elementCount(from);
        long toRow = Shapes.elementCount(to);
        if (rank == 0) {
            for (long r = 0; r < rows; r++) {
                put(src, (int) (r * size), dst, (int) ((dstRow + r) * size), size);
            }
            return;
        }
        long[] common = new long[rank];
        for (int d = 0; d < rank; d++) {
            common[d] = Math.min(from[d], to[d]);
        }
        int run = (int) (common[rank - 1] * size);
        long prefixes = Shapes.elementCount(java.util.Arrays.copyOf(common, rank - 1));
        long[] index = new long[rank];
        for (long r = 0; r < rows; r++) {
            for (long p = 0; p < prefixes; p++) {
                // index[0..rank-2] is the p-th prefix within common's leading dimensions.
                long rest = p;
                for (int d = rank - 2; d >= 0; d--) {
                    index[d] = rest % common[d];
                    rest /= common[d];
                }
                long srcOffset = r * fromRow + linear(index, from);
                long dstOffset = (dstRow + r) * toRow + linear(index, to);
                put(src, (int) (srcOffset * size), dst, (int) (dstOffset * size), run);
            }
        }
    }

    /** Row-major offset of index[0..rank-2] with the last coordinate 0. */
    private static long linear(long[] index, long[] shape) {
        long offset = 0;
        for (int d = 0; d < shape.length; d++) {
            offset = offset * shape[d] + (d < shape.length - 1 ? index[d] : 0);
        }
        return offset;
    }

    private static void put(ByteBuffer src, int srcAt, ByteBuffer dst, int dstAt, int length) {
        dst.put(dstAt, src, src.position() + srcAt, length);
    }

    /**
     * The padding a growing batch adds, held to a limit (ragged_batch_max_padding): after padding, the
     * batch's elements of its ragged inputs may be at most (1 + limit) times its callers' own. Texts of
     * similar lengths then share a run, and a short text does not pay attention over a long one's tokens.
     */
    static final class Padding {
        private final double limit;
        private final java.util.Set<String> ragged;
        private final java.util.Map<String, long[]> maxRow = new java.util.HashMap<>();
        private long own;
        private long rows;

        Padding(double limit, java.util.Set<String> ragged) {
            this.limit = limit;
            this.ragged = ragged;
        }

        /** True when the limit allows {@code request} to join the requests added so far. */
        boolean fits(InferRequest request) {
            if (Double.isInfinite(limit) || rows == 0) {
                return true;
            }
            long padded = 0;
            long actual = own;
            long joinedRows = rows + request.inputs().get(0).rows();
            for (Tensor t : request.inputs()) {
                long[] max = maxRow.get(t.name());
                if (max == null) {
                    continue;
                }
                long elements = 1;
                for (int d = 0; d < max.length; d++) {
                    elements *= Math.max(max[d], t.shape()[d + 1]);
                }
                padded += joinedRows * elements;
                actual += Shapes.elementCount(t.shape());
            }
            return padded <= (1 + limit) * actual;
        }

        void add(InferRequest request) {
            if (Double.isInfinite(limit)) {
                return;
            }
            rows += request.inputs().isEmpty() ? 1 : request.inputs().get(0).rows();
            for (Tensor t : request.inputs()) {
                if (!ragged.contains(t.name()) || t.datatype() == Datatype.BYTES) {
                    continue;
                }
                long[] max = maxRow.computeIfAbsent(t.name(), k -> new long[t.shape().length - 1]);
                for (int d = 0; d < max.length; d++) {
                    max[d] = Math.max(max[d], t.shape()[d + 1]);
                }
                own += Shapes.elementCount(t.shape());
            }
        }
    }
}
