package io.maas.inference.domain;

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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.maas.inference.TestModels;
import io.maas.inference.adapters.onnx.OnnxModelLoader;

/**
 * The scheduler on the real 'simple' ONNX model. A gate in front of the model holds the first run,
 * so the test decides what is queued when the worker picks the next batch: no timing involved.
 */
class BatchSchedulerTest {
    private final RecordingTracing tracing = new RecordingTracing();
    private GatedRunner runner;
    private BatchScheduler scheduler;

    /** Each request's reported phases, in submission order. */
    static final class RecordingTracing implements InferenceTracing {
        final List<List<String>> requests = new CopyOnWriteArrayList<>();

        @Override
        public RequestTrace begin(String model, String version) {
            List<String> phases = new CopyOnWriteArrayList<>(List.of("queued " + model + ":" + version));
            requests.add(phases);
            return new RequestTrace() {
                @Override
                public void running(int requests, long rows) {
                    phases.add("running " + requests + "/" + rows);
                }

                @Override
                public void ran() {
                    phases.add("ran");
                }

                @Override
                public void failed(InferenceException.Kind kind, String message) {
                    phases.add("failed " + kind);
                }
            };
        }
    }

    /** Runs the real model, but the first run waits until the test opens the gate. */
    static final class GatedRunner implements ModelRunner {
        final ModelRunner model;
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch gate = new CountDownLatch(1);
        final List<Long> batchRows = new CopyOnWriteArrayList<>();

        GatedRunner(ModelRunner model) {
            this.model = model;
        }

        @Override
        public List<TensorSpec> inputs() {
            return model.inputs();
        }

        @Override
        public List<TensorSpec> outputs() {
            return model.outputs();
        }

        @Override
        public String executionProvider() {
            return model.executionProvider();
        }

        @Override
        public Map<String, Tensor> run(Map<String, Tensor> inputs, Set<String> outputs) {
            entered.countDown();
            try {
                gate.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            batchRows.add(inputs.get("INPUT0").rows());
            return model.run(inputs, outputs);
        }

        @Override
        public void close() {
            model.close();
        }
    }

    private void start(int maxBatch, int queue) {
        ModelSettings settings = new ModelSettings(maxBatch, maxBatch > 1, 0, queue, 1, Device.CPU, 0,
                new VersionPolicy.All(), "model.onnx", List.of(), List.of());
        runner = new GatedRunner(new OnnxModelLoader(Device.CPU, 1)
                .load(TestModels.repository().resolve("simple/1/model.onnx"), settings));
        scheduler = new BatchScheduler("simple", "1", runner, settings, InferenceMetrics.NONE, tracing);
    }

    @AfterEach
    void stop() {
        runner.gate.countDown();
        scheduler.close();
    }

    private static InferRequest request(int rows, float base, long deadlineNanos) {
        ByteBuffer a = ByteBuffer.allocate(rows * 16 * 4).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer b = ByteBuffer.allocate(rows * 16 * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < rows * 16; i++) {
            a.putFloat(base + i);
            b.putFloat(1f);
        }
        return new InferRequest("simple", "1", "", List.of(
                Tensor.ofBuffer("INPUT0", Datatype.FP32, new long[]{rows, 16}, a.flip()),
                Tensor.ofBuffer("INPUT1", Datatype.FP32, new long[]{rows, 16}, b.flip())),
                Set.of(), deadlineNanos, InferRequest.NEVER_CANCELLED);
    }

    private static float firstSum(InferResult r) {
        return r.outputs().get(0).data().duplicate().order(ByteOrder.LITTLE_ENDIAN).getFloat(0);
    }

    @Test
    void queuedRequestsAreJoinedUpToTheBatchLimitAndSplitBack() throws Exception {
        start(8, 100);
        CompletableFuture<InferResult> blocker = scheduler.submit(request(1, 0, Long.MAX_VALUE));
        assertTrue(runner.entered.await(30, TimeUnit.SECONDS));
        List<CompletableFuture<InferResult>> queued = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            queued.add(scheduler.submit(request(2, 100 * i, Long.MAX_VALUE)));
        }
        runner.gate.countDown();
        assertEquals(1f, firstSum(blocker.get(30, TimeUnit.SECONDS)));
        for (int i = 0; i < 5; i++) {
            InferResult r = queued.get(i).get(30, TimeUnit.SECONDS);
            assertEquals(2, r.outputs().get(0).shape()[0]);
            assertEquals(100f * i + 1f, firstSum(r), "request " + i + " got another request's rows");
            assertEquals(2, r.outputs().size());
        }
        // 10 queued rows with a limit of 8: one batch of 4 requests (8 rows), then the 5th alone.
        assertEquals(List.of(1L, 8L, 2L), runner.batchRows);
        // each request's trace sees its own queue wait and the batch it ran in
        List<String> alone = List.of("queued simple:1", "running 1/1", "ran");
        List<String> joined = List.of("queued simple:1", "running 4/8", "ran");
        assertEquals(List.of(alone, joined, joined, joined, joined, List.of("queued simple:1", "running 1/2", "ran")),
                tracing.requests);
    }

    @Test
    void fullQueueRefusesAtOnce() throws Exception {
        start(1, 2);
        scheduler.submit(request(1, 0, Long.MAX_VALUE));
        assertTrue(runner.entered.await(30, TimeUnit.SECONDS));
        scheduler.submit(request(1, 0, Long.MAX_VALUE));
        scheduler.submit(request(1, 0, Long.MAX_VALUE));
        InferenceException e = assertThrows(InferenceException.class,
                () -> scheduler.submit(request(1, 0, Long.MAX_VALUE)));
        assertEquals(InferenceException.Kind.RESOURCE_EXHAUSTED, e.kind());
        assertTrue(e.getMessage().contains("max_queue_size"), e.getMessage());
        assertEquals(List.of("queued simple:1", "failed RESOURCE_EXHAUSTED"), tracing.requests.get(3));
    }

    @Test
    void requestWhoseDeadlinePassedInTheQueueIsNeverRun() throws Exception {
        start(8, 100);
        scheduler.submit(request(1, 0, Long.MAX_VALUE));
        assertTrue(runner.entered.await(30, TimeUnit.SECONDS));
        CompletableFuture<InferResult> late = scheduler.submit(request(3, 0, System.nanoTime() - 1));
        runner.gate.countDown();
        ExecutionException e = assertThrows(ExecutionException.class, () -> late.get(30, TimeUnit.SECONDS));
        assertEquals(InferenceException.Kind.DEADLINE_EXCEEDED, ((InferenceException) e.getCause()).kind());
        scheduler.submit(request(1, 0, Long.MAX_VALUE)).get(30, TimeUnit.SECONDS);
        assertEquals(List.of(1L, 1L), runner.batchRows, "the expired 3-row request must not have run");
        assertEquals(List.of("queued simple:1", "failed DEADLINE_EXCEEDED"), tracing.requests.get(1));
    }
}
