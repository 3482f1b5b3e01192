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
}
