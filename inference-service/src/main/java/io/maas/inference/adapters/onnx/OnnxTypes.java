package io.maas.inference.adapters.onnx;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.TensorInfo.OnnxTensorType;
import io.maas.inference.domain.Datatype;

/** Maps ONNX element types to protocol datatypes and to what ONNX Runtime's Java API can create. */
final class OnnxTypes {
    private OnnxTypes() {
    }

    /** The protocol datatype of an ONNX element type; null for types the protocol has no name for. */
    static Datatype datatype(OnnxTensorType type) {
        return switch (type) {
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL -> Datatype.BOOL;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8 -> Datatype.UINT8;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16 -> Datatype.UINT16;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32 -> Datatype.UINT32;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64 -> Datatype.UINT64;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8 -> Datatype.INT8;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16 -> Datatype.INT16;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32 -> Datatype.INT32;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64 -> Datatype.INT64;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 -> Datatype.FP16;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT -> Datatype.FP32;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE -> Datatype.FP64;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16 -> Datatype.BF16;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING -> Datatype.BYTES;
            default -> null;
        };
    }

    /** The ONNX element type of the unsigned types the Java API has no Java-side type for; null otherwise. */
    static OnnxTensorType onnxType(Datatype datatype) {
        return switch (datatype) {
            case UINT16 -> OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16;
            case UINT32 -> OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32;
            case UINT64 -> OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64;
            default -> null;
        };
    }

    /**
     * The Java-side type used to hand a buffer to ONNX Runtime; null where its Java API has none
     * (UINT16, UINT32, UINT64 and BYTES, which goes through strings).
     */
    static OnnxJavaType javaType(Datatype datatype) {
        return switch (datatype) {
            case BOOL -> OnnxJavaType.BOOL;
            case UINT8 -> OnnxJavaType.UINT8;
            case INT8 -> OnnxJavaType.INT8;
            case INT16 -> OnnxJavaType.INT16;
            case INT32 -> OnnxJavaType.INT32;
            case INT64 -> OnnxJavaType.INT64;
            case FP16 -> OnnxJavaType.FLOAT16;
            case FP32 -> OnnxJavaType.FLOAT;
            case FP64 -> OnnxJavaType.DOUBLE;
            case BF16 -> OnnxJavaType.BFLOAT16;
            default -> null;
        };
    }
}
