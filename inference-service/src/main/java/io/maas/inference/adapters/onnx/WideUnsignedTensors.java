package io.maas.inference.adapters.onnx;

import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.Buffer;
import java.nio.ByteBuffer;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.TensorInfo;
import ai.onnxruntime.TensorInfo.OnnxTensorType;

/**
 * Creates UINT16, UINT32 and UINT64 input tensors, which ONNX Runtime's Java API has no public
 * factory for although its native layer handles every element type. The package-private native
 * factory the public ones delegate to is called by reflection (checked once, at class load): if a
 * future ONNX Runtime changes it, these three types are refused with a clear error and nothing
 * else is affected. Outputs of these types are read through the public API.
 */
final class WideUnsignedTensors {
    private static final Method CREATE_FROM_BUFFER;
    private static final Constructor<OnnxTensor> TENSOR;
    private static final Constructor<TensorInfo> INFO;
    private static final Field API_HANDLE;
    private static final Field DEFAULT_ALLOCATOR;
    private static final Field ALLOCATOR_HANDLE;
    private static final String UNAVAILABLE;

    static {
        Method create = null;
        Constructor<OnnxTensor> tensor = null;
        Constructor<TensorInfo> info = null;
        Field api = null;
        Field allocator = null;
        Field allocatorHandle = null;
        String problem = null;
        try {
            create = OnnxTensor.class.getDeclaredMethod("createTensorFromBuffer", long.class, long.class,
                    Buffer.class, int.class, long.class, long[].class, int.class);
            tensor = OnnxTensor.class.getDeclaredConstructor(long.class, long.class, TensorInfo.class, Buffer.class,
                    boolean.class);
            info = TensorInfo.class.getDeclaredConstructor(long[].class, OnnxJavaType.class, OnnxTensorType.class);
            api = Class.forName("ai.onnxruntime.OnnxRuntime").getDeclaredField("ortApiHandle");
            allocator = OrtEnvironment.class.getDeclaredField("defaultAllocator");
            allocatorHandle = Class.forName("ai.onnxruntime.OrtAllocator").getDeclaredField("handle");
            for (var member : new java.lang.reflect.AccessibleObject[]{create, tensor, info, api, allocator,
                allocatorHandle}) {
                member.setAccessible(true);
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            problem = e.toString();
        }
        CREATE_FROM_BUFFER = create;
        TENSOR = tensor;
        INFO = info;
        API_HANDLE = api;
        DEFAULT_ALLOCATOR = allocator;
        ALLOCATOR_HANDLE = allocatorHandle;
        UNAVAILABLE = problem;
    }

    private WideUnsignedTensors() {
    }

    /** Null when this ONNX Runtime build allows it; otherwise why not. */
    static String unavailable() {
        return UNAVAILABLE;
    }

    /** A tensor over {@code data} (direct, native order), which must stay unchanged until it is closed. */
    static OnnxTensor create(OrtEnvironment env, ByteBuffer data, long[] shape, OnnxTensorType type)
            throws OrtException {
        try {
            long apiHandle = API_HANDLE.getLong(null);
            long allocator = ALLOCATOR_HANDLE.getLong(DEFAULT_ALLOCATOR.get(env));
            long handle = (long) CREATE_FROM_BUFFER.invoke(null, apiHandle, allocator, data, data.position(),
                    (long) data.remaining(), shape, type.value);
            return TENSOR.newInstance(handle, allocator, INFO.newInstance(shape, OnnxJavaType.UNKNOWN, type), data,
                    false);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof OrtException ort) {
                throw ort;
            }
            throw new IllegalStateException(e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }
}
