package io.maas.inference.domain;

import java.util.Locale;

/** Tensor element types of the Open Inference Protocol, with their size on the wire. */
public enum Datatype {
    BOOL(1), UINT8(1), UINT16(2), UINT32(4), UINT64(8),
    INT8(1), INT16(2), INT32(4), INT64(8),
    FP16(2), FP32(4), FP64(8), BF16(2),
    /** Variable-length byte strings; on the wire each element is prefixed by its 4-byte length. */
    BYTES(-1);

    private final int byteSize;

    Datatype(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Bytes per element, or -1 for BYTES. */
    public int byteSize() {
        return byteSize;
    }

    public boolean isFixedSize() {
        return byteSize > 0;
    }

    /** Parses a v2 datatype name such as "FP32"; null when unknown. */
    public static Datatype parse(String name) {
        if (name == null) {
            return null;
        }
        try {
            return valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
