package io.maas.inference.domain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Which queued requests a worker joins: every one that can join the oldest, wherever it stands in
 * the queue, and for ragged inputs only within ragged_batch_max_padding. A plain-Java model whose first
 * run waits for a gate, so the test decides what is queued when the worker picks the next batch.
 */
class BatchSchedulerJoiningTest {
    private GatedTokens model;
    private BatchScheduler scheduler;

    /** tokens [rows, sequence] FP32 in, the same out; records each run's rows and padded length. */
    static final class GatedTokens implements ModelRunner {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch gate = new CountDownLatch(1);
        final List<String> runs = new CopyOnWriteArrayList<>();

        @Override
        public List<TensorSpec> inputs() {
            return List.of(new TensorSpec("tokens", Datatype.FP32, new long[]{-1, -1}, List.of("batch", "sequence")));
        }

        @Override
        public List<TensorSpec> outputs() {
            return List.of(new TensorSpec("same", Datatype.FP32, new long[]{-1, -1}, List.of("batch", "sequence")));
        }

        @Override
        public String executionProvider() {
            return "fake";
        }

        @Override
        public Map<String, Tensor> run(Map<String, Tensor> in, Set<String> wanted) {
            entered.countDown();
            try {
                gate.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            Tensor t = in.get("tokens");
            runs.add(t.shape()[0] + "x" + t.shape()[1]);
            return Map.of("same", Tensor.ofBuffer("same", Datatype.FP32, t.shape().clone(), t.data().duplicate()));
        }

        @Override
        public void close() {
            gate.countDown();
        }
    }

    private void start(boolean ragged, String maxPadding) {
        start(ragged, maxPadding, 0);
    }

    private void start(boolean ragged, String maxPadding, int preferredBatchSize) {
        ModelSettings settings = new ModelSettings(32, true, 0, 100, 1, Device.CPU, 0, new VersionPolicy.All(),
                "model.onnx", List.of(), List.of(), ModelSettings.ONNX,
                maxPadding == null ? Map.of() : Map.of(ModelSettings.RAGGED_MAX_PADDING, maxPadding), List.of(),
                ragged ? Set.of("tokens") : Set.of(), Map.of(), preferredBatchSize);
        model = new GatedTokens();
        scheduler = new BatchScheduler("tokens", "1", model, settings, InferenceMetrics.NONE, InferenceTracing.NONE);
    }

    @AfterEach
    void stop() {
        if (scheduler != null) {
            model.gate.countDown();
            scheduler.close();
        }
    }

    /** One row of {@code length} tokens, each worth {@code value}. */
    private static InferRequest text(int length, float value) {
        return texts(1, length, value);
    }

    /** {@code rows} rows of {@code length} tokens, each worth {@code value}. */
    private static InferRequest texts(int rows, int length, float value) {
        ByteBuffer b = ByteBuffer.allocate(rows * length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < rows * length; i++) {
            b.putFloat(value);
        }
        return new InferRequest("tokens", "1", "", List.of(Tensor.ofBuffer("tokens", Datatype.FP32,
                new long[]{rows, length}, b.flip())), Set.of(), Long.MAX_VALUE, InferRequest.NEVER_CANCELLED);
    }

    /** Holds the worker in a first run, queues texts of these lengths, lets it go; each caller's own output. */
    private List<float[]> queueThenRun(int... lengths) throws Exception {
        CompletableFuture<InferResult> blocker = scheduler.submit(text(1, -1));
        assertTrue(model.entered.await(30, TimeUnit.SECONDS));
        List<CompletableFuture<InferResult>> futures = new ArrayList<>();
        for (int i = 0; i < lengths.length; i++) {
            futures.add(scheduler.submit(text(lengths[i], i)));
        }
        model.gate.countDown();
        blocker.get(30, TimeUnit.SECONDS);
        List<float[]> outputs = new ArrayList<>();
        for (CompletableFuture<InferResult> f : futures) {
            Tensor out = f.get(30, TimeUnit.SECONDS).outputs().get(0);
            float[] v = new float[(int) out.shape()[1]];
            out.data().duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
            outputs.add(v);
        }
        return outputs;
    }

    @Test
    void equalShapesJoinPastARequestThatCannotJoin() throws Exception {
        start(false, null);
        List<float[]> out = queueThenRun(4, 9, 4, 9, 4);
        assertEquals(List.of("1x1", "3x4", "2x9"), model.runs);
        assertArrayEquals(new float[]{1, 1, 1, 1, 1, 1, 1, 1, 1}, out.get(1));
        assertArrayEquals(new float[]{4, 4, 4, 4}, out.get(4));
    }

    @Test
    void raggedWithoutALimitPadsEveryoneToTheLongest() throws Exception {
        start(true, null);
        List<float[]> out = queueThenRun(4, 9, 4, 9, 4);
        assertEquals(List.of("1x1", "5x9"), model.runs);
        assertArrayEquals(new float[]{2, 2, 2, 2}, out.get(2), "a caller gets its own length back");
    }

    @Test
    void raggedWithinThePaddingLimitJoinsSimilarLengthsOnly() throws Exception {
        start(true, "0.25");
        // 10 and 12 pad 10 to 12: 24 elements for 22 own (9% more); 4 would pad to 3x12 = 36 for 26 (38%).
        List<float[]> out = queueThenRun(10, 4, 12, 5, 11);
        assertEquals(List.of("1x1", "3x12", "2x5"), model.runs);
        assertArrayEquals(new float[]{1, 1, 1, 1}, out.get(1));
        assertArrayEquals(new float[]{2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}, out.get(2));
    }

    @Test
    void joinedRunsStopAtThePreferredBatchSizeWhileABiggerRequestStillRunsWhole() throws Exception {
        start(false, null, 2);
        CompletableFuture<InferResult> blocker = scheduler.submit(text(1, -1));
        assertTrue(model.entered.await(30, TimeUnit.SECONDS));
        List<CompletableFuture<InferResult>> futures = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            futures.add(scheduler.submit(text(4, i)));
        }
        futures.add(scheduler.submit(texts(3, 4, 9)));
        model.gate.countDown();
        blocker.get(30, TimeUnit.SECONDS);
        for (CompletableFuture<InferResult> f : futures) {
            f.get(30, TimeUnit.SECONDS);
        }
        assertEquals(List.of("1x1", "2x4", "2x4", "1x4", "3x4"), model.runs);
        Tensor whole = futures.get(5).get().outputs().get(0);
        assertArrayEquals(new long[]{3, 4}, whole.shape(), "a request over the preferred size runs, unsplit");
    }

    @Test
    void aPaddingLimitThatIsNotANumberIsRefused() {
        ModelSettings settings = new ModelSettings(32, true, 0, 100, 1, Device.CPU, 0, new VersionPolicy.All(),
                "model.onnx", List.of(), List.of(), ModelSettings.ONNX,
                Map.of(ModelSettings.RAGGED_MAX_PADDING, "a lot"), List.of(), Set.of("tokens"), Map.of(), 0);
        InferenceException e = assertThrows(InferenceException.class, settings::raggedMaxPadding);
        assertTrue(e.getMessage().contains("ragged_batch_max_padding is 'a lot'"), e.getMessage());
    }
}
