package io.maas.inference.domain;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A named tensor. Fixed-size types keep their elements little-endian in {@code data};
 * BYTES tensors keep one array per element in {@code strings}.
 */
public record Tensor(String name, Datatype datatype, long[] shape, ByteBuffer data, byte[][] strings) {

    public static Tensor ofBuffer(String name, Datatype datatype, long[] shape, ByteBuffer data) {
        return new Tensor(name, datatype, shape, data.order(ByteOrder.LITTLE_ENDIAN), null);
    }

    public static Tensor ofStrings(String name, long[] shape, byte[][] strings) {
        return new Tensor(name, Datatype.BYTES, shape, null, strings);
    }

    public long elementCount() {
        return Shapes.elementCount(shape);
    }

    /** Rows along the batch (first) dimension. */
    public long rows() {
        return shape.length == 0 ? 1 : shape[0];
    }

    @Override
    public String toString() {
        return name + " " + datatype + Arrays.toString(shape);
    }
}
