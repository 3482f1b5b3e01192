package io.maas.inference.api;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;

import com.google.common.util.concurrent.ListenableFuture;

import io.grpc.Status;
import io.maas.proto.inference.GRPCInferenceServiceGrpc;
import io.maas.proto.inference.InferParameter;
import io.maas.proto.inference.InferTensorContents;
import io.maas.proto.inference.ModelConfigRequest;
import io.maas.proto.inference.ModelConfigResponse;
import io.maas.proto.inference.ModelInferRequest;
import io.maas.proto.inference.ModelInferResponse;
import io.maas.proto.inference.ModelMetadataRequest;
import io.maas.proto.inference.ModelMetadataResponse;
import io.maas.proto.inference.ModelReadyRequest;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The minilm-embed pipeline (tokenizer -> all-MiniLM-L6-v2 fp32 -> mean pooling) over real gRPC and
 * REST: its embeddings equal the ones computed independently in Python (HuggingFace tokenizers,
 * onnxruntime, numpy; tools/models/minilm_embed_reference.py) within 1e-4, and bad text is refused
 * with INVALID_ARGUMENT and a message that says what to fix.
 */
@QuarkusTest
class PipelineTest extends GrpcTestSupport {
    static final double TOLERANCE = 1e-4;

    static JsonNode reference() throws IOException {
        try (InputStream in = PipelineTest.class.getResourceAsStream("/pipelines/minilm-embed-reference.json")) {
            return new ObjectMapper().readTree(in);
        }
    }

    static ModelInferRequest text(List<String> texts, boolean flat) {
        InferTensorContents.Builder contents = InferTensorContents.newBuilder();
        texts.forEach(t -> contents.addBytesContents(ByteString.copyFromUtf8(t)));
        ModelInferRequest.InferInputTensor.Builder in = ModelInferRequest.InferInputTensor.newBuilder()
                .setName("TEXT").setDatatype("BYTES").addShape(texts.size()).setContents(contents);
        if (!flat) {
            in.addShape(1);
        }
        return ModelInferRequest.newBuilder().setModelName("minilm-embed").addInputs(in).build();
    }

    static ModelInferRequest raw(byte[] text) {
        return ModelInferRequest.newBuilder().setModelName("minilm-embed")
                .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("TEXT").setDatatype("BYTES")
                        .addShape(1).addShape(1).setContents(InferTensorContents.newBuilder()
                                .addBytesContents(ByteString.copyFrom(text))))
                .build();
    }

    static float[] floats(ModelInferResponse response) {
        FloatBuffer b = response.getRawOutputContents(0).asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN)
                .asFloatBuffer();
        float[] out = new float[b.remaining()];
        b.get(out);
        return out;
    }

    static void assertClose(JsonNode want, float[] got, int offset, String what) {
        assertEquals(384, want.size());
        double worst = 0;
        for (int i = 0; i < 384; i++) {
            worst = Math.max(worst, Math.abs(want.get(i).asDouble() - got[offset + i]));
        }
        double w = worst;
        assertTrue(worst <= TOLERANCE, () -> what + ": largest difference from the Python reference " + w);
    }

    @Test
    void concurrentCallsOfDifferentLengthsGetTheReferenceEmbeddings() throws Exception {
        GRPCInferenceServiceGrpc.GRPCInferenceServiceFutureStub async = GRPCInferenceServiceGrpc.newFutureStub(channel)
                .withDeadlineAfter(120, TimeUnit.SECONDS);
        List<JsonNode> sentences = new ArrayList<>();
        reference().path("sentences").forEach(sentences::add);
        List<ListenableFuture<ModelInferResponse>> calls = new ArrayList<>();
        for (int round = 0; round < 3; round++) {
            for (JsonNode s : sentences) {
                calls.add(async.modelInfer(text(List.of(s.path("text").asText()), false)));
            }
        }
        for (int i = 0; i < calls.size(); i++) {
            JsonNode s = sentences.get(i % sentences.size());
            assertClose(s.path("embedding"), floats(calls.get(i).get(120, TimeUnit.SECONDS)), 0,
                    "concurrent call " + i);
        }
    }

    @Test
    void pipelineIsAModelWithMetadataConfigAndReadiness() {
        assertTrue(stub().modelReady(ModelReadyRequest.newBuilder().setName("minilm-embed").build()).getReady());
        ModelMetadataResponse meta = stub().modelMetadata(ModelMetadataRequest.newBuilder()
                .setName("minilm-embed").build());
        assertEquals("ensemble", meta.getPlatform());
        assertEquals(List.of("1"), meta.getVersionsList());
        assertEquals("TEXT", meta.getInputs(0).getName());
        assertEquals("BYTES", meta.getInputs(0).getDatatype());
        assertEquals(List.of(-1L, 1L), meta.getInputs(0).getShapeList());
        assertEquals("EMBEDDING", meta.getOutputs(0).getName());
        assertEquals(List.of(-1L, 384L), meta.getOutputs(0).getShapeList());
        ModelConfigResponse config = stub().modelConfig(ModelConfigRequest.newBuilder().setName("minilm-embed")
                .build());
        assertEquals(3, config.getConfig().getEnsembleScheduling().getStepCount());
        assertEquals("minilm-tokenizer", config.getConfig().getEnsembleScheduling().getStep(0).getModelName());
    }

    @Test
    void embeddingsEqualThePythonReferenceOneByOne() throws IOException {
        for (JsonNode s : reference().path("sentences")) {
            String text = s.path("text").asText();
            ModelInferResponse response = stub().modelInfer(text(List.of(text), false));
            assertEquals("EMBEDDING", response.getOutputs(0).getName());
            assertEquals("FP32", response.getOutputs(0).getDatatype());
            assertEquals(List.of(1L, 384L), response.getOutputs(0).getShapeList());
            assertClose(s.path("embedding"), floats(response), 0, "'" + text + "'");
        }
    }

    @Test
    void embeddingsOfManyTextsInOneCallEqualThePythonReference() throws IOException {
        List<String> texts = new ArrayList<>();
        List<JsonNode> want = new ArrayList<>();
        reference().path("sentences").forEach(s -> {
            texts.add(s.path("text").asText());
            want.add(s.path("embedding"));
        });
        // Shape [n] (a flat list of texts, as curl users send it) is taken as [n, 1].
        ModelInferResponse response = stub().modelInfer(text(texts, true));
        assertEquals(List.of((long) texts.size(), 384L), response.getOutputs(0).getShapeList());
        float[] got = floats(response);
        for (int i = 0; i < texts.size(); i++) {
            assertClose(want.get(i), got, i * 384, "text " + i + " of the call");
        }
    }

    @Test
    void restTakesJsonTextAndAnswersTheEmbedding() throws IOException {
        JsonNode s = reference().path("sentences").get(0);
        String body = "{\"inputs\":[{\"name\":\"TEXT\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[\""
                + s.path("text").asText() + "\"]}]}";
        String answer = given().contentType("application/json").body(body).post("/v2/models/minilm-embed/infer")
                .then().statusCode(200).extract().asString();
        JsonNode out = new ObjectMapper().readTree(answer).path("outputs").get(0);
        assertEquals("EMBEDDING", out.path("name").asText());
        float[] got = new float[384];
        for (int i = 0; i < 384; i++) {
            got[i] = (float) out.path("data").get(i).asDouble();
        }
        assertClose(s.path("embedding"), got, 0, "REST");
    }

    static ModelInferRequest classify(String text) {
        return text(List.of(text), false).toBuilder().setModelName("minilm-classify").build();
    }

    @Test
    void zeroShotTopicsEqualThePythonReference() throws IOException {
        JsonNode texts;
        try (InputStream in = PipelineTest.class.getResourceAsStream("/pipelines/minilm-classify-reference.json")) {
            texts = new ObjectMapper().readTree(in).path("texts");
        }
        assertEquals(6, texts.size());
        for (JsonNode t : texts) {
            ModelInferResponse response = stub().modelInfer(classify(t.path("text").asText()));
            assertEquals("LABEL", response.getOutputs(0).getName());
            assertEquals(List.of(1L, 3L), response.getOutputs(0).getShapeList());
            List<String> labels = response.getOutputs(0).getContents().getBytesContentsList().stream()
                    .map(ByteString::toStringUtf8).toList();
            if (labels.isEmpty()) {
                labels = bytesElements(response.getRawOutputContents(0));
            }
            List<String> want = new ArrayList<>();
            t.path("labels").forEach(l -> want.add(l.asText()));
            assertEquals(want, labels, t.path("text").asText());
            float[] scores = io.maas.inference.TestModels.toFloats(response.getRawOutputContents(1));
            for (int i = 0; i < 3; i++) {
                assertEquals(t.path("scores").get(i).asDouble(), scores[i], TOLERANCE, "score " + i);
            }
        }
    }

    @Test
    void classificationExtensionAnswersTopClassesWithLabels() {
        ModelInferResponse embedded = stub().modelInfer(text(List.of("My flight to Rome was delayed by six hours."),
                false));
        ModelInferRequest request = ModelInferRequest.newBuilder().setModelName("topic-zero-shot")
                .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("embedding").setDatatype("FP32")
                        .addShape(1).addShape(384))
                .addRawInputContents(embedded.getRawOutputContents(0))
                .addOutputs(ModelInferRequest.InferRequestedOutputTensor.newBuilder().setName("scores")
                        .putParameters("classification", InferParameter.newBuilder().setInt64Param(2).build()))
                .build();
        ModelInferResponse response = stub().modelInfer(request);
        assertEquals("BYTES", response.getOutputs(0).getDatatype());
        assertEquals(List.of(1L, 2L), response.getOutputs(0).getShapeList());
        List<String> top = bytesElements(response.getRawOutputContents(0));
        assertTrue(top.get(0).matches("[0-9.]+:3:travel"), () -> "Triton's 'score:index:label', best first: " + top);
    }

    /** BYTES elements of a raw output: each a 4-byte little-endian length, then the bytes. */
    static List<String> bytesElements(ByteString raw) {
        java.nio.ByteBuffer b = raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        List<String> out = new ArrayList<>();
        while (b.remaining() >= 4) {
            byte[] s = new byte[b.getInt()];
            b.get(s);
            out.add(new String(s, StandardCharsets.UTF_8));
        }
        return out;
    }

    /** The tokenizer reads a bounded part of a long text; its first 256 tokens, the embedding, are the same. */
    @Test
    void aVeryLongTextIsCutToMaxLengthLikeAShortOne() {
        String words = "the quick brown fox jumps over the lazy dog ";
        float[] cut = floats(stub().modelInfer(text(List.of(words.repeat(40)), false)));
        float[] huge = floats(stub().modelInfer(text(List.of(words.repeat(50_000)), false)));
        org.junit.jupiter.api.Assertions.assertArrayEquals(cut, huge, 1e-5f);
    }

    @Test
    void badTextIsTheCallersErrorWithAMessageThatSaysWhatToFix() {
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> stub().modelInfer(raw(new byte[]{'h', 'i', (byte) 0xC3})),
                "not valid UTF-8", "TEXT");
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> stub().modelInfer(raw(new byte[0])), "is empty");
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> stub().modelInfer(raw("   ".getBytes(StandardCharsets.UTF_8))),
                "is empty");
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> stub().modelInfer(text(List.of("ok", ""), false)),
                "element 1", "is empty");
        // a text longer than 256 x 64 characters with no whitespace to cut it at: refused, not embedded differently
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> stub().modelInfer(text(List.of("a".repeat(20_000)), false)),
                "20000 characters", "fewer than 256 tokens", "send shorter texts");
        // 32 texts cut to 256 tokens each: more than MiniLM takes in one call; the message says where
        String longText = String.join(" ", java.util.Collections.nCopies(300, "word"));
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> stub().modelInfer(text(java.util.Collections.nCopies(32, longText), false)),
                "pipeline 'minilm-embed', step 'minilm'", "shape [32, 256]", "max_input_elements");
    }
}
