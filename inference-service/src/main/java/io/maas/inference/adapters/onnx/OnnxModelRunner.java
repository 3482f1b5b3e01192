package io.maas.inference.adapters.onnx;

import java.lang.reflect.Array;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import ai.onnxruntime.TensorInfo.OnnxTensorType;
import io.maas.inference.domain.Datatype;
import io.maas.inference.domain.InferenceException;
import io.maas.inference.domain.ModelRunner;
import io.maas.inference.domain.Tensor;
import io.maas.inference.domain.TensorSpec;

/** One ONNX Runtime session. Sessions are thread-safe, so several workers may run it at once. */
final class OnnxModelRunner implements ModelRunner {
    private final OrtEnvironment env;
    private final OrtSession session;
    private final List<TensorSpec> inputs;
    private final List<TensorSpec> outputs;
    private final String executionProvider;
    private final OrtSession.RunOptions runOptions;

    OnnxModelRunner(OrtEnvironment env, OrtSession session, List<TensorSpec> inputs, List<TensorSpec> outputs,
                    String executionProvider) throws OrtException {
        // ONNX Runtime would log every refused run at ERROR on stderr, so a caller sending bad values in
        // a loop would flood the pod's log. The failure reaches the caller, and the log through the
        // scheduler when it is the server's fault.
        this.runOptions = new OrtSession.RunOptions();
        runOptions.setLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL);
        this.env = env;
        this.session = session;
        this.inputs = inputs;
        this.outputs = outputs;
        this.executionProvider = executionProvider;
    }

    @Override
    public List<TensorSpec> inputs() {
        return inputs;
    }

    @Override
    public List<TensorSpec> outputs() {
        return outputs;
    }

    @Override
    public String executionProvider() {
        return executionProvider;
    }

    @Override
    public Map<String, Tensor> run(Map<String, Tensor> in, Set<String> wanted) {
        Map<String, OnnxTensor> feeds = new HashMap<>();
        try {
            for (Tensor t : in.values()) {
                feeds.put(t.name(), toOnnx(t));
            }
            try (OrtSession.Result result = session.run(feeds, wanted, runOptions)) {
                Map<String, Tensor> out = new HashMap<>();
                for (Map.Entry<String, OnnxValue> e : result) {
                    out.put(e.getKey(), fromOnnx(e.getKey(), (OnnxTensor) e.getValue()));
                }
                return out;
            }
        } catch (OrtException e) {
            throw failure(e);
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    /**
     * Whose fault a failed run is. ONNX Runtime says ORT_INVALID_ARGUMENT when a kernel refuses the
     * input's values (e.g. token ids outside an embedding's vocabulary): the caller's, and the same
     * input fails on every pod. Every other code (ORT_FAIL, ORT_RUNTIME_EXCEPTION, ORT_EP_FAIL, ...)
     * may come from the runtime, the device or the model, so it is the server's.
     */
    static InferenceException failure(OrtException e) {
        if (e.getCode() == OrtException.OrtErrorCode.ORT_INVALID_ARGUMENT) {
            return new InferenceException(InferenceException.Kind.INVALID_ARGUMENT,
                    "the model refused the input: " + e.getMessage(), e);
        }
        return new InferenceException(InferenceException.Kind.INTERNAL, "ONNX Runtime failed: " + e.getMessage(), e);
    }

    /** Direct buffers are handed to ONNX Runtime as they are, without a copy. */
    private OnnxTensor toOnnx(Tensor t) throws OrtException {
        if (t.datatype() == Datatype.BYTES) {
            String[] strings = new String[t.strings().length];
            for (int i = 0; i < strings.length; i++) {
                strings[i] = new String(t.strings()[i], StandardCharsets.UTF_8);
            }
            return OnnxTensor.createTensor(env, strings, t.shape());
        }
        ByteBuffer data = t.data().slice();
        if (!data.isDirect()) {
            // The one copy of a request's bytes: protocol buffers hold them on the heap, ORT reads native memory.
            data = ByteBuffer.allocateDirect(data.remaining()).put(data).flip();
        }
        data.order(ByteOrder.nativeOrder());
        OnnxJavaType type = OnnxTypes.javaType(t.datatype());
        if (type != null) {
            return OnnxTensor.createTensor(env, data, t.shape(), type);
        }
        OnnxTensorType wide = OnnxTypes.onnxType(t.datatype());
        if (wide == null || WideUnsignedTensors.unavailable() != null) {
            throw InferenceException.invalid("input '" + t.name() + "' is " + t.datatype() + ", which this ONNX"
                    + " Runtime build cannot take from Java (" + WideUnsignedTensors.unavailable() + ")");
        }
        return WideUnsignedTensors.create(env, data, t.shape(), wide);
    }

    private static Tensor fromOnnx(String name, OnnxTensor value) throws OrtException {
        TensorInfo info = value.getInfo();
        Datatype datatype = OnnxTypes.datatype(info.onnxType);
        long[] shape = info.getShape();
        if (datatype == Datatype.BYTES) {
            List<byte[]> flat = new ArrayList<>();
            flatten(value.getValue(), flat);
            return Tensor.ofStrings(name, shape, flat.toArray(byte[][]::new));
        }
        if (datatype == null) {
            throw new InferenceException(InferenceException.Kind.INTERNAL, "output '" + name + "' has type "
                    + info.onnxType + ", which ONNX Runtime's Java API cannot read");
        }
        return Tensor.ofBuffer(name, datatype, shape, value.getByteBuffer());
    }

    private static void flatten(Object value, List<byte[]> into) {
        if (value instanceof String s) {
            into.add(s.getBytes(StandardCharsets.UTF_8));
        } else if (value != null && value.getClass().isArray()) {
            for (int i = 0; i < Array.getLength(value); i++) {
                flatten(Array.get(value, i), into);
            }
        }
    }

    @Override
    public void close() {
        try {
            runOptions.close();
            session.close();
        } catch (OrtException e) {
            // Closing releases native memory; a failure here leaves nothing for the caller to do.
        }
    }
}
