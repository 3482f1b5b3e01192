package io.maas.inference;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import com.google.protobuf.ByteString;

import io.maas.proto.inference.ModelInferRequest;

/** The assembled test model repository and requests for its models. */
public final class TestModels {
    private TestModels() {
    }

    /** models/target/repository, built by the models module before these tests run. */
    public static Path repository() {
        Path repo = Path.of(System.getProperty("maas.test.repository", "../models/target/repository"));
        if (!Files.isDirectory(repo.resolve("minilm/1"))) {
            throw new IllegalStateException(repo + " is not assembled; run mvn install from the repository root");
        }
        return repo;
    }

    public static ByteString floats(float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return ByteString.copyFrom(b.array());
    }

    public static float[] toFloats(ByteString raw) {
        ByteBuffer b = raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[b.remaining() / 4];
        for (int i = 0; i < out.length; i++) {
            out[i] = b.getFloat();
        }
        return out;
    }

    public static ByteString longs(long... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            b.putLong(v);
        }
        return ByteString.copyFrom(b.array());
    }

    /** A request for the 'simple' model: rows x 16 FP32 values starting at {@code base}, plus ones. */
    public static ModelInferRequest simple(String version, int rows, float base) {
        float[] a = new float[rows * 16];
        float[] ones = new float[rows * 16];
        for (int i = 0; i < a.length; i++) {
            a[i] = base + i;
            ones[i] = 1f;
        }
        return ModelInferRequest.newBuilder().setModelName("simple").setModelVersion(version)
                .addInputs(input("INPUT0", "FP32", rows, 16))
                .addInputs(input("INPUT1", "FP32", rows, 16))
                .addRawInputContents(floats(a)).addRawInputContents(floats(ones)).build();
    }

    /** A MiniLM request: batch x seq token ids ([CLS] ... [SEP]), full attention, one segment. */
    public static ModelInferRequest minilm(String version, int batch, int seq) {
        long[] ids = new long[batch * seq];
        long[] mask = new long[batch * seq];
        long[] types = new long[batch * seq];
        for (int r = 0; r < batch; r++) {
            for (int c = 0; c < seq; c++) {
                ids[r * seq + c] = c == 0 ? 101 : c == seq - 1 ? 102 : 1000 + (r * 31 + c * 7) % 20000;
                mask[r * seq + c] = 1;
            }
        }
        return ModelInferRequest.newBuilder().setModelName("minilm").setModelVersion(version)
                .addInputs(input("input_ids", "INT64", batch, seq))
                .addInputs(input("attention_mask", "INT64", batch, seq))
                .addInputs(input("token_type_ids", "INT64", batch, seq))
                .addRawInputContents(longs(ids)).addRawInputContents(longs(mask)).addRawInputContents(longs(types))
                .build();
    }

    public static ModelInferRequest.InferInputTensor input(String name, String datatype, long... shape) {
        ModelInferRequest.InferInputTensor.Builder b = ModelInferRequest.InferInputTensor.newBuilder()
                .setName(name).setDatatype(datatype);
        for (long d : shape) {
            b.addShape(d);
        }
        return b.build();
    }
}
