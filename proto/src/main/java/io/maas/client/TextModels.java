package io.maas.client;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.google.protobuf.ByteString;

import io.grpc.Channel;
import io.maas.proto.inference.GRPCInferenceServiceGrpc;
import io.maas.proto.inference.InferTensorContents;
import io.maas.proto.inference.ModelInferRequest;
import io.maas.proto.inference.ModelInferResponse;

/**
 * Typed calls to the text pipelines of a MaaS repository over the Open Inference Protocol (to a
 * router or an inference pod): {@link #embed(String)} on a text-to-embedding pipeline
 * ({@code minilm-embed}: TEXT -> EMBEDDING) and {@link #classify(String)} on a text-to-label one
 * ({@code minilm-classify}: TEXT -> LABEL, SCORE). Failures are gRPC's StatusRuntimeException, with
 * the server's message (e.g. INVALID_ARGUMENT for an empty text).
 */
public final class TextModels {
    /** One class of an answer: its label and probability, best first in a list. */
    public record Label(String label, float score) {
    }

    private final Channel channel;
    private final String embedModel;
    private final String classifyModel;
    private final long deadlineMillis;

    /** The default models (minilm-embed, minilm-classify) with a 10 s deadline per call. */
    public TextModels(Channel channel) {
        this(channel, "minilm-embed", "minilm-classify", 10_000);
    }

    public TextModels(Channel channel, String embedModel, String classifyModel, long deadlineMillis) {
        this.channel = channel;
        this.embedModel = embedModel;
        this.classifyModel = classifyModel;
        this.deadlineMillis = deadlineMillis;
    }

    /** The text's sentence embedding (normalised for minilm-embed). */
    public float[] embed(String text) {
        ModelInferResponse r = call(embedModel, text);
        FloatBuffer b = raw(r, 0).asFloatBuffer();
        float[] out = new float[b.remaining()];
        b.get(out);
        return out;
    }

    /** The text's best classes with their probabilities, best first. */
    public List<Label> classify(String text) {
        ModelInferResponse r = call(classifyModel, text);
        int labels = index(r, "LABEL");
        int scores = index(r, "SCORE");
        ByteBuffer names = raw(r, labels);
        FloatBuffer values = raw(r, scores).asFloatBuffer();
        List<Label> out = new ArrayList<>();
        while (names.remaining() >= 4 && values.hasRemaining()) {
            byte[] s = new byte[names.getInt()];
            names.get(s);
            out.add(new Label(new String(s, StandardCharsets.UTF_8), values.get()));
        }
        return out;
    }

    private ModelInferResponse call(String model, String text) {
        ModelInferRequest request = ModelInferRequest.newBuilder().setModelName(model)
                .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("TEXT").setDatatype("BYTES")
                        .addShape(1).addShape(1).setContents(InferTensorContents.newBuilder()
                                .addBytesContents(ByteString.copyFromUtf8(text))))
                .build();
        return GRPCInferenceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(deadlineMillis, TimeUnit.MILLISECONDS)
                .modelInfer(request);
    }

    private static int index(ModelInferResponse r, String name) {
        for (int i = 0; i < r.getOutputsCount(); i++) {
            if (r.getOutputs(i).getName().equals(name)) {
                return i;
            }
        }
        throw new IllegalStateException("model '" + r.getModelName() + "' answered no output '" + name + "'");
    }

    private static ByteBuffer raw(ModelInferResponse r, int i) {
        return r.getRawOutputContents(i).asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }
}
