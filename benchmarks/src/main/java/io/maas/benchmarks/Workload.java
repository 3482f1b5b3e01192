package io.maas.benchmarks;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import com.google.protobuf.ByteString;
import io.maas.proto.inference.ModelInferRequest;

/**
 * One model's fixed batch-1 input, available both as ONNX Runtime tensors (raw) and as a
 * pre-built {@code ModelInferRequest} with {@code raw_input_contents} (served): the same bytes.
 */
record Workload(String model, String version, List<Input> inputs, long expectedOutputBytes) {

    /** One input tensor: little-endian bytes of a {@code shape} tensor of {@code datatype}. */
    record Input(String name, String datatype, long[] shape, byte[] bytes) {
    }

    /** A small fixed set of real WordPiece ids (English text), cycled to fill {@code seq} tokens. */
    private static final long[] TOKENS = {101, 1996, 4248, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 1012, 2023,
            2003, 1037, 3231, 6251, 2005, 7861, 8270, 4667, 1012};

    static Workload minilm(int seq) {
        long[] ids = new long[seq];
        long[] mask = new long[seq];
        long[] types = new long[seq];
        for (int i = 0; i < seq; i++) {
            ids[i] = i == seq - 1 ? 102 : TOKENS[i % TOKENS.length];
            mask[i] = 1;
        }
        long[] shape = {1, seq};
        return new Workload("minilm", "1", List.of(
                new Input("input_ids", "INT64", shape, longs(ids)),
                new Input("attention_mask", "INT64", shape, longs(mask)),
                new Input("token_type_ids", "INT64", shape, longs(types))),
                (long) seq * 384 * 4);
    }

    static Workload simple() {
        float[] a = new float[16];
        float[] b = new float[16];
        for (int i = 0; i < 16; i++) {
            a[i] = i;
            b[i] = 1f;
        }
        long[] shape = {1, 16};
        return new Workload("simple", "1", List.of(
                new Input("INPUT0", "FP32", shape, floats(a)),
                new Input("INPUT1", "FP32", shape, floats(b))),
                2L * 16 * 4);
    }

    static Workload named(String model, int seq) {
        return model.equals("minilm") ? minilm(seq) : simple();
    }

    Path modelFile(Path repository) {
        return repository.resolve(model).resolve(version).resolve("model.onnx");
    }

    /** The request every served call sends, built once. All outputs are returned (none listed). */
    ModelInferRequest request() {
        ModelInferRequest.Builder b = ModelInferRequest.newBuilder().setModelName(model).setModelVersion(version);
        for (Input in : inputs) {
            ModelInferRequest.InferInputTensor.Builder t = ModelInferRequest.InferInputTensor.newBuilder()
                    .setName(in.name()).setDatatype(in.datatype());
            for (long d : in.shape()) {
                t.addShape(d);
            }
            b.addInputs(t);
            b.addRawInputContents(ByteString.copyFrom(in.bytes()));
        }
        return b.build();
    }

    /** Fresh ORT input tensors over direct buffers; the caller closes them. */
    Map<String, OnnxTensor> tensors(OrtEnvironment env) throws OrtException {
        Map<String, OnnxTensor> feeds = new HashMap<>();
        for (Input in : inputs) {
            ByteBuffer buf = ByteBuffer.allocateDirect(in.bytes().length).order(ByteOrder.nativeOrder());
            buf.put(ByteBuffer.wrap(in.bytes()).order(ByteOrder.LITTLE_ENDIAN)).flip();
            OnnxJavaType type = in.datatype().equals("INT64") ? OnnxJavaType.INT64 : OnnxJavaType.FLOAT;
            feeds.put(in.name(), OnnxTensor.createTensor(env, buf, in.shape(), type));
        }
        return feeds;
    }

    private static byte[] longs(long[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long x : v) {
            b.putLong(x);
        }
        return b.array();
    }

    private static byte[] floats(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) {
            b.putFloat(x);
        }
        return b.array();
    }
}
