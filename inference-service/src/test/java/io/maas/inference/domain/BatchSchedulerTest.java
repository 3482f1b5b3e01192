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
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.maas.inference.TestModels;
import io.maas.inference.adapters.onnx.OnnxModelLoader;

/**
 * The scheduler on the real 'simple' ONNX model, and on a plain-Java fake model for batch isolation.
 * A gate in front of the model holds the first run, so the test decides what is queued when the
 * worker picks the next batch: no timing involved.
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
        runner = new GatedRunner(new OnnxModelLoader(Device.CPU, 1, true)
                .load(TestModels.repository().resolve("simple/1/model.onnx"), settings));
        scheduler = new BatchScheduler("simple", "1", runner, settings, InferenceMetrics.NONE, tracing);
    }

    @AfterEach
    void stop() {
        if (scheduler != null) {
            runner.gate.countDown();
            scheduler.close();
        }
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

    // ------------------------------------------------------------------ batch isolation, fake model

    /**
     * A plain-Java model: y = 2·x on FP32 [rows, 2]. A row whose first value is negative is refused
     * as the runtime refuses out-of-vocabulary ids (the caller's fault); NaN makes it fail as a broken
     * runtime would (the server's fault). Like the real one, the first run waits for the gate.
     */
    static final class FakeRunner implements ModelRunner {
        static final List<TensorSpec> IN = List.of(new TensorSpec("x", Datatype.FP32, new long[]{-1, 2}));
        static final List<TensorSpec> OUT = List.of(new TensorSpec("y", Datatype.FP32, new long[]{-1, 2}));
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch gate = new CountDownLatch(1);
        /** The first value of every row of every run, in run order. */
        final List<List<Float>> runs = new CopyOnWriteArrayList<>();
        final RuntimeException unexpected;

        FakeRunner(RuntimeException unexpected) {
            this.unexpected = unexpected;
        }

        @Override
        public List<TensorSpec> inputs() {
            return IN;
        }

        @Override
        public List<TensorSpec> outputs() {
            return OUT;
        }

        @Override
        public String executionProvider() {
            return "fake";
        }

        @Override
        public Map<String, Tensor> run(Map<String, Tensor> inputs, Set<String> outputs) {
            entered.countDown();
            try {
                gate.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            Tensor x = inputs.get("x");
            ByteBuffer in = x.data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
            List<Float> firsts = new ArrayList<>();
            for (int r = 0; r < x.rows(); r++) {
                firsts.add(in.getFloat(in.position() + r * 8));
            }
            runs.add(firsts);
            if (unexpected != null && firsts.stream().anyMatch(f -> f.isNaN())) {
                throw unexpected;
            }
            if (firsts.stream().anyMatch(f -> f.isNaN())) {
                throw new InferenceException(InferenceException.Kind.INTERNAL, "device lost");
            }
            if (firsts.stream().anyMatch(f -> f < 0)) {
                throw InferenceException.invalid("index out of bounds: " + firsts.stream().filter(f -> f < 0).toList());
            }
            ByteBuffer out = ByteBuffer.allocate(in.remaining()).order(ByteOrder.LITTLE_ENDIAN);
            while (in.hasRemaining()) {
                out.putFloat(2 * in.getFloat());
            }
            return Map.of("y", Tensor.ofBuffer("y", Datatype.FP32, x.shape().clone(), out.flip()));
        }

        @Override
        public void close() {
            gate.countDown();
        }
    }

    /** Counts what the scheduler reports. */
    static final class CountingMetrics implements InferenceMetrics {
        final AtomicInteger splits = new AtomicInteger();
        final List<InferenceException.Kind> failures = new CopyOnWriteArrayList<>();
        final List<Integer> batches = new CopyOnWriteArrayList<>();

        @Override
        public void succeeded(String model, String version, long queueNanos, long computeNanos) {
        }

        @Override
        public void failed(String model, String version, InferenceException.Kind kind) {
            failures.add(kind);
        }

        @Override
        public void batchRan(String model, String version, int requests, long rows) {
            batches.add(requests);
        }

        @Override
        public void batchSplit(String model, String version) {
            splits.incrementAndGet();
        }
    }

    private final CountingMetrics metrics = new CountingMetrics();
    private FakeRunner fake;
    private BatchScheduler fakeScheduler;

    private void startFake(RuntimeException unexpected) {
        startFake(unexpected, 0);
    }

    private void startFake(RuntimeException unexpected, long delayMicros) {
        ModelSettings settings = new ModelSettings(64, true, delayMicros, 100, 1, Device.CPU, 0,
                new VersionPolicy.All(), "model.onnx", List.of(), List.of());
        fake = new FakeRunner(unexpected);
        fakeScheduler = new BatchScheduler("fake", "1", fake, settings, metrics, tracing);
    }

    /** One row [v, v + 0.5]. */
    private static InferRequest row(float v) {
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(v).putFloat(v + 0.5f).flip();
        return new InferRequest("fake", "1", "", List.of(Tensor.ofBuffer("x", Datatype.FP32, new long[]{1, 2}, b)),
                Set.of(), Long.MAX_VALUE, InferRequest.NEVER_CANCELLED);
    }

    /** Holds the worker in a first run, queues {@code values} one row each, then lets the worker join them. */
    private List<CompletableFuture<InferResult>> joined(float... values) throws Exception {
        CompletableFuture<InferResult> blocker = fakeScheduler.submit(row(1000));
        assertTrue(fake.entered.await(30, TimeUnit.SECONDS));
        List<CompletableFuture<InferResult>> futures = new ArrayList<>();
        for (float v : values) {
            futures.add(fakeScheduler.submit(row(v)));
        }
        fake.gate.countDown();
        blocker.get(30, TimeUnit.SECONDS);
        for (CompletableFuture<InferResult> f : futures) {
            try {
                f.get(30, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                // asserted by the test
            }
        }
        return futures;
    }

    private static float[] values(InferResult r) {
        ByteBuffer b = r.outputs().get(0).data().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        return new float[]{b.getFloat(), b.getFloat()};
    }

    private static InferenceException failure(CompletableFuture<InferResult> f) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(30, TimeUnit.SECONDS));
        return (InferenceException) e.getCause();
    }

    @AfterEach
    void stopFake() {
        if (fakeScheduler != null) {
            fake.gate.countDown();
            fakeScheduler.close();
        }
    }

    @Test
    void aCallersBadInputFailsOnlyThatCallerAndItsBatchMatesGetTheirOwnResults() throws Exception {
        startFake(null);
        List<CompletableFuture<InferResult>> f = joined(0, 1, 2, 3, 4, -5, 6, 7);
        for (int i = 0; i < 8; i++) {
            if (i == 5) {
                InferenceException e = failure(f.get(i));
                assertEquals(InferenceException.Kind.INVALID_ARGUMENT, e.kind());
                assertEquals("index out of bounds: [-5.0]", e.getMessage(), "the message of its own run, alone");
            } else {
                float[] y = values(f.get(i).get());
                assertEquals(2f * i, y[0], "request " + i);
                assertEquals(2f * i + 1f, y[1], "request " + i);
            }
        }
        // bisection: 8 fail -> [0-3] ok, [4-7] fail -> [4,-5] fail -> [4] ok, [-5] fails alone; [6,7] ok
        assertEquals(List.of(List.of(1000f), List.of(0f, 1f, 2f, 3f, 4f, -5f, 6f, 7f), List.of(0f, 1f, 2f, 3f),
                List.of(4f, -5f, 6f, 7f), List.of(4f, -5f), List.of(4f), List.of(-5f), List.of(6f, 7f)), fake.runs);
        assertEquals(3, metrics.splits.get());
        assertEquals(List.of(InferenceException.Kind.INVALID_ARGUMENT), metrics.failures);
        assertEquals(List.of("queued fake:1", "running 8/8", "running 4/4", "running 2/2", "running 1/1",
                "failed INVALID_ARGUMENT"), tracing.requests.get(6));
        assertEquals(List.of("queued fake:1", "running 8/8", "running 4/4", "ran"), tracing.requests.get(1));
    }

    @Test
    void severalBadInputsInOneBatchEachFailAloneAndTheRestSucceed() throws Exception {
        startFake(null);
        List<CompletableFuture<InferResult>> f = joined(-1, 1, 2, -3, 4);
        assertEquals(InferenceException.Kind.INVALID_ARGUMENT, failure(f.get(0)).kind());
        assertEquals(InferenceException.Kind.INVALID_ARGUMENT, failure(f.get(3)).kind());
        for (int i : new int[]{1, 2, 4}) {
            assertEquals(2f * i, values(f.get(i).get())[0], "request " + i);
        }
        assertEquals(List.of(InferenceException.Kind.INVALID_ARGUMENT, InferenceException.Kind.INVALID_ARGUMENT),
                metrics.failures);
        assertTrue(fake.runs.stream().filter(r -> r.size() == 1 && r.get(0) < 0).count() == 2,
                "each bad request ran alone once: " + fake.runs);
    }

    @Test
    void aRequestThatFailsAloneIsNotReRun() throws Exception {
        startFake(null);
        List<CompletableFuture<InferResult>> f = joined(-1);
        assertEquals(InferenceException.Kind.INVALID_ARGUMENT, failure(f.get(0)).kind());
        assertEquals(List.of(List.of(1000f), List.of(-1f)), fake.runs);
        assertEquals(0, metrics.splits.get());
    }

    @Test
    void aServerFaultFailsTheWholeBatchWithoutReRunningIt() throws Exception {
        startFake(null);
        List<CompletableFuture<InferResult>> f = joined(0, 1, Float.NaN, 3);
        for (CompletableFuture<InferResult> each : f) {
            InferenceException e = failure(each);
            assertEquals(InferenceException.Kind.INTERNAL, e.kind());
            assertEquals("device lost", e.getMessage());
        }
        assertEquals(2, fake.runs.size(), "the blocker and the failed batch, nothing re-run: " + fake.runs);
        assertEquals(0, metrics.splits.get());
    }

    @Test
    void anUnexpectedExceptionIsAServerFaultAndIsNotReRun() throws Exception {
        startFake(new IllegalStateException("bug"));
        List<CompletableFuture<InferResult>> f = joined(0, Float.NaN);
        for (CompletableFuture<InferResult> each : f) {
            InferenceException e = failure(each);
            assertEquals(InferenceException.Kind.INTERNAL, e.kind());
            assertTrue(e.getMessage().contains("bug"), e.getMessage());
        }
        assertEquals(2, fake.runs.size(), fake.runs.toString());
        assertEquals(0, metrics.splits.get());
    }

    // ------------------------------------------------------------------ when a worker waits

    /** A batching delay no test could sit through: a request that waited for it would time out. */
    private static final long MINUTE_MICROS = TimeUnit.SECONDS.toMicros(60);

    @Test
    void aLoneRequestRunsAtOnceWithoutWaitingForTheBatchingDelay() throws Exception {
        startFake(null, MINUTE_MICROS);
        fake.gate.countDown();
        for (int i = 0; i < 3; i++) {
            assertEquals(2f * i, values(fakeScheduler.submit(row(i)).get(30, TimeUnit.SECONDS))[0], "request " + i);
        }
        assertEquals(List.of(List.of(0f), List.of(1f), List.of(2f)), fake.runs);
        assertEquals(List.of(1, 1, 1), metrics.batches);
    }

    @Test
    void requestsThatArriveDuringARunAreJoinedIntoTheNextRun() throws Exception {
        startFake(null, MINUTE_MICROS);
        List<CompletableFuture<InferResult>> f = joined(0, 1, 2, 3, 4);
        for (int i = 0; i < 5; i++) {
            assertEquals(2f * i, values(f.get(i).get())[0], "request " + i);
        }
        assertEquals(List.of(List.of(1000f), List.of(0f, 1f, 2f, 3f, 4f)), fake.runs);
        assertEquals(List.of(1, 5), metrics.batches);
        assertEquals(List.of("queued fake:1", "running 5/5", "ran"), tracing.requests.get(1));
    }

    @Test
    void afterABatchTheWorkerWaitsForAsManyRowsAsItJustAnswered() throws Exception {
        startFake(null, MINUTE_MICROS);
        joined(0, 1, 2);
        // The three callers are expected back: the first to return waits (up to the delay) for the others.
        List<CompletableFuture<InferResult>> back = new ArrayList<>();
        for (float v : new float[]{10, 11, 12}) {
            back.add(fakeScheduler.submit(row(v)));
        }
        for (CompletableFuture<InferResult> each : back) {
            each.get(30, TimeUnit.SECONDS);
        }
        assertEquals(List.of(List.of(1000f), List.of(0f, 1f, 2f), List.of(10f, 11f, 12f)), fake.runs);
        assertEquals(List.of(1, 3, 3), metrics.batches);
    }
}
