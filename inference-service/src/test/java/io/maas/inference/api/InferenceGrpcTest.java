package io.maas.inference.api;

import static io.maas.inference.TestModels.floats;
import static io.maas.inference.TestModels.input;
import static io.maas.inference.TestModels.toFloats;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import com.google.protobuf.ByteString;
import com.google.common.util.concurrent.ListenableFuture;

import grpc.health.v1.HealthGrpc;
import grpc.health.v1.HealthOuterClass;
import io.grpc.Status;
import io.maas.inference.TestModels;
import io.maas.proto.inference.GRPCInferenceServiceGrpc;
import io.maas.proto.inference.InferTensorContents;
import io.maas.proto.inference.ModelConfigRequest;
import io.maas.proto.inference.ModelInferRequest;
import io.maas.proto.inference.ModelInferResponse;
import io.maas.proto.inference.ModelMetadataRequest;
import io.maas.proto.inference.ModelMetadataResponse;
import io.maas.proto.inference.ModelReadyRequest;
import io.maas.proto.inference.ServerLiveRequest;
import io.maas.proto.inference.ServerMetadataRequest;
import io.maas.proto.inference.ServerReadyRequest;
import io.quarkus.test.junit.QuarkusTest;

/** The Open Inference Protocol over a real gRPC socket, on the real test models. */
@QuarkusTest
class InferenceGrpcTest extends GrpcTestSupport {

    @Test
    void serverIsLiveAndReadyAndDescribesItself() {
        assertTrue(stub().serverLive(ServerLiveRequest.getDefaultInstance()).getLive());
        assertTrue(stub().serverReady(ServerReadyRequest.getDefaultInstance()).getReady());
        var meta = stub().serverMetadata(ServerMetadataRequest.getDefaultInstance());
        assertEquals("maas-inference", meta.getName());
        assertTrue(meta.getExtensionsList().contains("model_repository"));
    }

    @Test
    void standardGrpcHealthReportsServing() {
        var health = HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
        var status = health.check(HealthOuterClass.HealthCheckRequest.newBuilder().setService("").build());
        assertEquals(HealthOuterClass.HealthCheckResponse.ServingStatus.SERVING, status.getStatus());
    }

    @Test
    void modelMetadataComesFromTheOnnxFile() {
        ModelMetadataResponse meta = stub().modelMetadata(ModelMetadataRequest.newBuilder().setName("minilm").build());
        assertEquals(List.of("1", "2"), meta.getVersionsList());
        assertEquals("onnxruntime_onnx", meta.getPlatform());
        assertEquals(List.of("input_ids", "attention_mask", "token_type_ids"),
                meta.getInputsList().stream().map(ModelMetadataResponse.TensorMetadata::getName).toList());
        assertEquals("INT64", meta.getInputs(0).getDatatype());
        assertEquals(List.of(-1L, -1L), meta.getInputs(0).getShapeList());
        assertEquals("last_hidden_state", meta.getOutputs(0).getName());
        assertEquals(List.of(-1L, -1L, 384L), meta.getOutputs(0).getShapeList());
        assertTrue(stub().modelReady(ModelReadyRequest.newBuilder().setName("minilm").setVersion("2").build()).getReady());
        assertFalse(stub().modelReady(ModelReadyRequest.newBuilder().setName("nope").build()).getReady());
    }

    @Test
    void modelConfigAnswersLikeTriton() {
        var config = stub().modelConfig(ModelConfigRequest.newBuilder().setName("minilm").build()).getConfig();
        assertEquals(32, config.getMaxBatchSize());
        assertTrue(config.hasDynamicBatching());
        assertEquals(List.of(-1L), config.getInput(0).getDimsList(), "dims leave out the batch dimension");
    }

    @Test
    void simpleAddsAndSubtractsWithRawTensors() {
        ModelInferResponse r = stub().modelInfer(TestModels.simple("1", 2, 10f).toBuilder().setId("req-7").build());
        assertEquals("simple", r.getModelName());
        assertEquals("1", r.getModelVersion());
        assertEquals("req-7", r.getId());
        assertEquals(List.of("OUTPUT0", "OUTPUT1"), r.getOutputsList().stream().map(o -> o.getName()).toList());
        assertEquals(List.of(2L, 16L), r.getOutputs(0).getShapeList());
        float[] sum = toFloats(r.getRawOutputContents(0));
        float[] diff = toFloats(r.getRawOutputContents(1));
        for (int i = 0; i < 32; i++) {
            assertEquals(10f + i + 1f, sum[i]);
            assertEquals(10f + i - 1f, diff[i]);
        }
    }

    @Test
    void requestWithoutVersionGetsTheHighestAndOnlyRequestedOutputsReturn() {
        ModelInferRequest request = TestModels.simple("", 1, 0f).toBuilder()
                .addOutputs(ModelInferRequest.InferRequestedOutputTensor.newBuilder().setName("OUTPUT1")).build();
        ModelInferResponse r = stub().modelInfer(request);
        assertEquals("2", r.getModelVersion());
        assertEquals(1, r.getOutputsCount());
        assertEquals("OUTPUT1", r.getOutputs(0).getName());
        assertEquals(-1f, toFloats(r.getRawOutputContents(0))[0]);
    }

    @Test
    void typedContentsWorkLikeRaw() {
        InferTensorContents.Builder a = InferTensorContents.newBuilder();
        InferTensorContents.Builder b = InferTensorContents.newBuilder();
        for (int i = 0; i < 16; i++) {
            a.addFp32Contents(i);
            b.addFp32Contents(2);
        }
        ModelInferRequest request = ModelInferRequest.newBuilder().setModelName("simple")
                .addInputs(input("INPUT0", "FP32", 1, 16).toBuilder().setContents(a))
                .addInputs(input("INPUT1", "FP32", 1, 16).toBuilder().setContents(b)).build();
        float[] sum = toFloats(stub().modelInfer(request).getRawOutputContents(0));
        assertEquals(17f, sum[15]);
    }

    @Test
    void minilmVersionsBothServeEmbeddings() {
        for (String version : List.of("1", "2")) {
            ModelInferResponse r = stub().modelInfer(TestModels.minilm(version, 2, 12));
            assertEquals(version, r.getModelVersion());
            assertEquals(List.of(2L, 12L, 384L), r.getOutputs(0).getShapeList());
            assertEquals(2 * 12 * 384 * 4, r.getRawOutputContents(0).size());
        }
    }

    /** Concurrent callers are joined into batches; every caller must still get exactly its own rows back. */
    @Test
    void concurrentRequestsEachGetTheirOwnRows() throws Exception {
        var async = GRPCInferenceServiceGrpc.newFutureStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
        List<ListenableFuture<ModelInferResponse>> calls = new ArrayList<>();
        for (int i = 0; i < 48; i++) {
            calls.add(async.modelInfer(TestModels.simple("1", 1 + i % 3, i * 1000f)));
        }
        for (int i = 0; i < calls.size(); i++) {
            ModelInferResponse r = calls.get(i).get(60, TimeUnit.SECONDS);
            int rows = 1 + i % 3;
            assertEquals(List.of((long) rows, 16L), r.getOutputs(0).getShapeList());
            float[] sum = toFloats(r.getRawOutputContents(0));
            assertEquals(rows * 16, sum.length);
            for (int k = 0; k < sum.length; k++) {
                assertEquals(i * 1000f + k + 1f, sum[k], "call " + i + " element " + k);
            }
        }
    }

    @Test
    void unknownModelOrVersionIsNotFound() {
        assertStatus(Status.Code.NOT_FOUND, () -> stub().modelInfer(TestModels.simple("1", 1, 0).toBuilder()
                .setModelName("nope").build()), "unknown model 'nope'", "simple");
        assertStatus(Status.Code.NOT_FOUND, () -> stub().modelInfer(TestModels.simple("9", 1, 0)),
                "no version '9'", "[1, 2]");
        assertStatus(Status.Code.NOT_FOUND, () -> stub().modelMetadata(
                ModelMetadataRequest.newBuilder().setName("nope").build()), "unknown model");
    }

    @Test
    void wrongShapeDatatypeOrSizeIsInvalidArgument() {
        ModelInferRequest good = TestModels.simple("1", 1, 0);
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> stub().modelInfer(good.toBuilder()
                .setInputs(0, input("INPUT0", "FP32", 1, 15)).build()), "shape [1, 15]", "[-1, 16]");
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> stub().modelInfer(good.toBuilder()
                .setInputs(0, input("INPUT0", "FP64", 1, 16)).build()), "FP64", "expects FP32");
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> stub().modelInfer(good.toBuilder()
                .setInputs(0, input("INPUT0", "FLOAT", 1, 16)).build()), "unknown datatype 'FLOAT'");
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> stub().modelInfer(good.toBuilder()
                .setRawInputContents(0, floats(1, 2, 3)).build()), "12 bytes", "needs 64 bytes");
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> stub().modelInfer(good.toBuilder()
                .setInputs(0, input("INPUT9", "FP32", 1, 16)).build()), "no input 'INPUT9'", "INPUT0 FP32");
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> stub().modelInfer(good.toBuilder()
                .removeInputs(1).clearRawInputContents().addRawInputContents(good.getRawInputContents(0)).build()),
                "missing input(s) [INPUT1]");
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> stub().modelInfer(good.toBuilder()
                .clearRawInputContents().addRawInputContents(good.getRawInputContents(0)).build()),
                "raw_input_contents has 1 entries", "2 inputs");
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> stub().modelInfer(good.toBuilder()
                .addOutputs(ModelInferRequest.InferRequestedOutputTensor.newBuilder().setName("OUT")).build()),
                "no output 'OUT'");
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> stub().modelInfer(TestModels.simple("1", 65, 0)),
                "batch size 65", "1 to 64");
    }

    /** Values the model refuses are the caller's fault: INVALID_ARGUMENT with ONNX Runtime's message, not INTERNAL. */
    @Test
    void tokenIdsOutsideTheVocabularyAreInvalidArgument() {
        for (String version : List.of("1", "2")) {
            ModelInferRequest good = TestModels.minilm(version, 1, 4);
            assertStatus(Status.Code.INVALID_ARGUMENT, () -> stub().modelInfer(good.toBuilder()
                    .setRawInputContents(0, TestModels.longs(101, 999_999, 5000, 102)).build()),
                    "ORT_INVALID_ARGUMENT", "indices element out of data bounds, idx=999999");
            assertStatus(Status.Code.INVALID_ARGUMENT, () -> stub().modelInfer(good.toBuilder()
                    .setRawInputContents(2, TestModels.longs(0, 7, 0, 0)).build()), "idx=7");
            // an attention mask longer than the ids: refused before ONNX Runtime fails on it with ORT_FAIL
            assertStatus(Status.Code.INVALID_ARGUMENT, () -> stub().modelInfer(good.toBuilder()
                    .setInputs(1, input("attention_mask", "INT64", 1, 5))
                    .setRawInputContents(1, TestModels.longs(1, 1, 1, 1, 1)).build()),
                    "inputs disagree on dimension", "'input_ids' has 4, 'attention_mask' has 5");
            // the model still serves
            assertEquals(List.of(1L, 4L, 384L), stub().modelInfer(good).getOutputs(0).getShapeList());
        }
    }

    /** More work than the pods are sized for is the caller's mistake, refused before it is queued. */
    @Test
    void aCallOverTheModelsMaxInputElementsIsInvalidArgument() {
        for (String version : List.of("1", "2")) {
            // 9 x 512 tokens: over minilm's max_input_elements (4096); one call of 32 x 512 ran a pod out of memory
            assertStatus(Status.Code.INVALID_ARGUMENT, () -> stub().modelInfer(TestModels.minilm(version, 9, 512)),
                    "4608 elements (shape [9, 512])", "at most 4096", "max_input_elements", "send fewer rows");
            assertEquals(List.of(2L, 12L, 384L), stub().modelInfer(TestModels.minilm(version, 2, 12)).getOutputs(0).getShapeList());
        }
    }

    /** A sequence longer than the model's position embeddings is the caller's mistake, not a server error. */
    @Test
    void aSequenceOverTheModelsMaxSequenceLengthIsInvalidArgument() {
        // 1 x 1500 tokens: within max_input_elements, but ONNX Runtime failed on it with a generic error (INTERNAL)
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> stub().modelInfer(TestModels.minilm("1", 1, 1500)),
                "1500 elements along its last dimension", "at most 512", "max_sequence_length", "send shorter sequences");
        assertEquals(List.of(1L, 512L, 384L), stub().modelInfer(TestModels.minilm("1", 1, 512)).getOutputs(0).getShapeList());
    }

    /** One label string per answer: asking for every class of a large output is refused, not run out of memory. */
    @Test
    void classifyingALargeOutputIntoTooManyLabelsIsInvalidArgument() {
        ModelInferRequest request = TestModels.minilm("1", 2, 200).toBuilder()
                .addOutputs(ModelInferRequest.InferRequestedOutputTensor.newBuilder().setName("last_hidden_state")
                        .putParameters("classification", io.maas.proto.inference.InferParameter.newBuilder()
                                .setInt64Param(1_000_000_000).build()))
                .build();
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> stub().modelInfer(request),
                "would answer 153600 labels (2 rows x 76800 classes", "at most 100000", "ask for fewer classes");
        assertEquals(List.of(2L, 12L, 384L), stub().modelInfer(TestModels.minilm("1", 2, 12)).getOutputs(0).getShapeList());
    }

    @Test
    void oversizedMessageIsRefusedWithResourceExhausted() {
        // 20 MiB of raw bytes: above the 16 MiB default limit, refused as its length prefix arrives.
        ModelInferRequest huge = TestModels.simple("1", 1, 0).toBuilder()
                .setRawInputContents(0, ByteString.copyFrom(new byte[20 << 20])).build();
        assertStatus(Status.Code.RESOURCE_EXHAUSTED, () -> stub().modelInfer(huge));
        // The server is unharmed.
        assertEquals(1f, toFloats(stub().modelInfer(TestModels.simple("1", 1, 0)).getRawOutputContents(0))[0]);
    }
}
