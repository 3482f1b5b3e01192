package io.maas.inference.domain;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Runs a cheap, thread-safe model (a built-in processing step such as a tokenizer) on the caller's
 * thread: a queue and a worker hand-off would cost more than the step itself, and a pipeline's steps
 * then run on whichever thread delivered the previous step's result.
 */
public final class DirectScheduler implements Scheduler {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static final boolean CPU_TIME = THREADS.isCurrentThreadCpuTimeSupported();

    private final String model;
    private final String version;
    private final ModelRunner runner;
    private final InferenceMetrics metrics;
    private final AtomicInteger running = new AtomicInteger();
    private volatile boolean accepting = true;

    public DirectScheduler(String model, String version, ModelRunner runner, InferenceMetrics metrics) {
        this.model = model;
        this.version = version;
        this.runner = runner;
        this.metrics = metrics;
    }

    @Override
    public CompletableFuture<InferResult> submit(InferRequest request) {
        if (!accepting) {
            throw InferenceException.unavailable("model '" + model + "' version " + version + " is being unloaded");
        }
        running.incrementAndGet();
        long start = System.nanoTime();
        try {
            Map<String, Tensor> inputs = request.inputs().stream()
                    .collect(Collectors.toMap(Tensor::name, Function.identity()));
            List<String> wanted = request.outputs().isEmpty()
                    ? runner.outputs().stream().map(TensorSpec::name).toList() : List.copyOf(request.outputs());
            long cpu = CPU_TIME ? THREADS.getCurrentThreadCpuTime() : 0;
            Map<String, Tensor> result = runner.run(inputs, Set.copyOf(wanted));
            if (CPU_TIME) {
                metrics.stepCpu(model, version, THREADS.getCurrentThreadCpuTime() - cpu);
            }
            metrics.succeeded(model, version, 0, System.nanoTime() - start);
            return CompletableFuture.completedFuture(new InferResult(model, version, request.id(),
                    wanted.stream().map(result::get).toList()));
        } catch (InferenceException e) {
            metrics.failed(model, version, e.kind());
            return CompletableFuture.failedFuture(e);
        } catch (RuntimeException e) {
            metrics.failed(model, version, InferenceException.Kind.INTERNAL);
            return CompletableFuture.failedFuture(new InferenceException(InferenceException.Kind.INTERNAL,
                    "model '" + model + "' version " + version + " failed: " + e.getMessage(), e));
        } finally {
            running.decrementAndGet();
        }
    }

    @Override
    public int queued() {
        return running.get();
    }

    @Override
    public void close() {
        accepting = false;
        runner.close();
    }
}
