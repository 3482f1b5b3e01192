package io.maas.inference.domain;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;

import org.jboss.logging.Logger;

/**
 * The queue in front of one model version, and its workers. Each worker takes the oldest
 * request and every queued request that can join it (same row shape, or ragged within the padding
 * limit), joins them along the batch
 * dimension, runs the model once and splits the outputs back. A request that finds a worker idle
 * runs at once; requests that arrive during a run join the next one (see {@link #work()} for when
 * a worker waits, at most the batching delay, for callers it expects back). A batch that fails because
 * of one caller's input is split and re-run so that its other callers still get their results.
 * The queue is bounded: a full queue refuses at once instead of letting latency grow without limit.
 */
public final class BatchScheduler implements Scheduler {
    private static final Logger LOG = Logger.getLogger(BatchScheduler.class);

    private final String model;
    private final String version;
    private final ModelRunner runner;
    private final ModelSettings settings;
    private final InferenceMetrics metrics;
    private final InferenceTracing tracing;
    private final LinkedBlockingQueue<Pending> queue;
    private final List<Thread> workers = new ArrayList<>();
    private volatile boolean accepting = true;

    private record Pending(InferRequest request, long enqueuedNanos, CompletableFuture<InferResult> result,
                           InferenceTracing.RequestTrace trace) {
        long rows() {
            return request.inputs().isEmpty() ? 1 : request.inputs().get(0).rows();
        }
    }

    public BatchScheduler(String model, String version, ModelRunner runner, ModelSettings settings,
                          InferenceMetrics metrics, InferenceTracing tracing) {
        this.model = model;
        this.version = version;
        this.runner = runner;
        this.settings = settings;
        this.metrics = metrics;
        this.tracing = tracing;
        this.queue = new LinkedBlockingQueue<>(settings.maxQueueSize());
        for (int i = 0; i < Math.max(1, settings.instanceCount()); i++) {
            Thread worker = new Thread(this::work, "infer-" + model + "-v" + version + "-" + i);
            worker.setDaemon(true);
            workers.add(worker);
            worker.start();
        }
    }

    /** Queues a validated request; fails at once with RESOURCE_EXHAUSTED when the queue is full. */
    @Override
    public CompletableFuture<InferResult> submit(InferRequest request) {
        if (!accepting) {
            throw InferenceException.unavailable("model '" + model + "' version " + version
                    + " is being unloaded; retry, the repository may be reloading it");
        }
        // The trace begins before the offer: once queued, a worker may report on it at any moment.
        Pending pending = new Pending(request, System.nanoTime(), new CompletableFuture<>(),
                tracing.begin(model, version));
        if (!queue.offer(pending)) {
            InferenceException full = new InferenceException(InferenceException.Kind.RESOURCE_EXHAUSTED,
                    "queue of model '" + model + "' version " + version + " is full (" + settings.maxQueueSize()
                    + " requests waiting); retry with backoff, add replicas or raise max_queue_size");
            pending.trace().failed(full.kind(), full.getMessage());
            throw full;
        }
        return pending.result();
    }

    @Override
    public int queued() {
        return queue.size();
    }

    /**
     * The worker loop. A worker never waits for company it has no reason to expect:
     * <ul>
     * <li>it blocks until a request is queued, then takes, without waiting, every queued request that
     *     can join it (same row shape, or ragged within the padding limit), wherever it stands in the
     *     queue, up to the join limit in rows ({@link ModelSettings#joinLimit()}), and runs them at once.
     *     A request that finds the worker idle therefore runs alone, at once; requests that arrive
     *     while a run is in progress are all in the queue when it ends, and the next run takes them;</li>
     * <li>it waits only when the batch in hand has fewer rows than the previous run on this worker
     *     (capped at the join limit): callers just answered in a bigger batch are expected back. It
     *     then waits for more joinable requests until it holds that many rows, or until the oldest
     *     request has been queued for the batching delay, whichever comes first. After a run of one
     *     row, or a first run, it never waits; when the expected callers do not come, the next run
     *     is smaller and so is the next expectation.</li>
     * </ul>
     */
    private void work() {
        int limit = settings.joinLimit();
        long delayNanos = TimeUnit.MICROSECONDS.toNanos(settings.maxQueueDelayMicros());
        long expectedRows = 0;
        double maxPadding = settings.raggedMaxPadding();
        Pending held = null;
        while (true) {
            Pending first = held;
            held = null;
            try {
                if (first == null) {
                    first = queue.poll(50, TimeUnit.MILLISECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            if (first == null) {
                if (!accepting) {
                    return;
                }
                continue;
            }
            List<Pending> batch = new ArrayList<>(Math.min(limit, 64));
            batch.add(first);
            long rows = first.rows();
            Ragged.Padding padding = new Ragged.Padding(maxPadding, settings.raggedInputs());
            padding.add(first.request());
            // Every queued request that can join, not only a run at the head: calls of different lengths
            // interleave, and stopping at the first that cannot join would leave most batches of one.
            if (rows < limit && !queue.isEmpty()) {
                for (Pending next : queue) {
                    if (rows >= limit) {
                        break;
                    }
                    if (rows + next.rows() <= limit && joins(first, next, padding) && queue.remove(next)) {
                        batch.add(next);
                        rows += next.rows();
                        padding.add(next.request());
                    }
                }
            }
            long waitFor = Math.min(limit, expectedRows);
            long waitUntil = first.enqueuedNanos() + delayNanos;
            while (rows < limit) {
                Pending next = queue.poll();
                if (next == null) {
                    long remaining = waitUntil - System.nanoTime();
                    if (rows >= waitFor || remaining <= 0) {
                        break;
                    }
                    try {
                        next = queue.poll(remaining, TimeUnit.NANOSECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        break;
                    }
                    if (next == null) {
                        break;
                    }
                }
                if (rows + next.rows() > limit || !joins(first, next, padding)) {
                    held = next;
                    break;
                }
                batch.add(next);
                rows += next.rows();
                padding.add(next.request());
            }
            expectedRows = rows;
            runBatch(batch);
        }
    }

    private boolean joins(Pending first, Pending next, Ragged.Padding padding) {
        return joinable(first.request(), next.request(), settings.raggedInputs()) && padding.fits(next.request());
    }

    /**
     * Requests join when every input has the same row shape (all but the batch dimension), or, for
     * an input marked allow_ragged_batch, the same rank (the batch pads it, see {@link Ragged}).
     */
    static boolean joinable(InferRequest a, InferRequest b, Set<String> ragged) {
        if (a.inputs().size() != b.inputs().size()) {
            return false;
        }
        for (Tensor t : a.inputs()) {
            Tensor u = null;
            for (Tensor candidate : b.inputs()) {
                if (candidate.name().equals(t.name())) {
                    u = candidate;
                    break;
                }
            }
            if (u == null) {
                return false;
            }
            boolean padded = t.datatype() != Datatype.BYTES && ragged.contains(t.name());
            if (padded ? t.shape().length != u.shape().length : !Shapes.sameRowShape(t.shape(), u.shape())) {
                return false;
            }
        }
        return true;
    }

    private void runBatch(List<Pending> candidates) {
        long now = System.nanoTime();
        List<Pending> batch = new ArrayList<>(candidates.size());
        for (Pending p : candidates) {
            if (p.request().cancelled().getAsBoolean()) {
                fail(p, new InferenceException(InferenceException.Kind.CANCELLED, "the caller cancelled the request"));
            } else if (p.request().expired(now)) {
                fail(p, new InferenceException(InferenceException.Kind.DEADLINE_EXCEEDED,
                        "deadline passed after " + TimeUnit.NANOSECONDS.toMillis(now - p.enqueuedNanos())
                                + " ms in the queue of model '" + model + "' version " + version
                                + "; the request was not run"));
            } else {
                batch.add(p);
            }
        }
        if (!batch.isEmpty()) {
            run(batch);
        }
    }

    /**
     * Runs the requests as one batch. When the run fails because of a caller's input (the runtime
     * refused the values), the batch is split in two and each half re-run, down to the offending
     * requests alone: one caller's bad input fails only that caller. Bisection needs about
     * 2·log2(n) extra runs for one bad request among n. A request that fails alone is not re-run,
     * and a server fault fails the whole batch, since a smaller batch would not fix it.
     */
    private void run(List<Pending> batch) {
        try {
            Map<String, Tensor> inputs = batch.size() == 1 ? byName(batch.get(0).request().inputs())
                    : join(batch, settings.raggedInputs());
            Set<String> outputs = requestedOutputs(batch);
            long totalRows = batch.stream().mapToLong(Pending::rows).sum();
            for (Pending p : batch) {
                p.trace().running(batch.size(), totalRows);
            }
            long start = System.nanoTime();
            Map<String, Tensor> result = runner.run(inputs, outputs);
            long computeNanos = System.nanoTime() - start;
            // Every caller's rows are cut before anyone is answered: a failure here fails them all alike.
            List<List<Tensor>> owns = new ArrayList<>(batch.size());
            long offset = 0;
            Map<String, Long> padded = batch.size() == 1 || settings.raggedInputs().isEmpty() ? Map.of()
                    : dimensionSizes(inputs.values());
            for (Pending p : batch) {
                List<Tensor> own = new ArrayList<>();
                Map<String, Long> mine = padded.isEmpty() ? Map.of() : dimensionSizes(p.request().inputs());
                for (String name : wanted(p.request())) {
                    Tensor out = result.get(name);
                    own.add(batch.size() == 1 ? out : slice(out, offset, p.rows(), totalRows, padded, mine));
                }
                offset += p.rows();
                owns.add(own);
            }
            // Ended before any caller is answered: answering runs the response encoding on this thread.
            for (Pending p : batch) {
                p.trace().ran();
            }
            metrics.batchRan(model, version, batch.size(), totalRows);
            for (int i = 0; i < batch.size(); i++) {
                Pending p = batch.get(i);
                metrics.succeeded(model, version, start - p.enqueuedNanos(), computeNanos);
                p.result().complete(new InferResult(model, version, p.request().id(), owns.get(i)));
            }
        } catch (InferenceException e) {
            if (e.fault() == InferenceException.Fault.CALLER && batch.size() > 1) {
                metrics.batchSplit(model, version);
                LOG.debugf("model '%s' version %s: a batch of %d failed on a caller's input, splitting it: %s",
                        model, version, batch.size(), e.getMessage());
                int half = batch.size() / 2;
                run(batch.subList(0, half));
                run(batch.subList(half, batch.size()));
            } else {
                if (e.fault() == InferenceException.Fault.SERVER) {
                    LOG.errorf("model '%s' version %s failed on a batch of %d: %s", model, version, batch.size(),
                            e.getMessage());
                }
                batch.forEach(p -> fail(p, e));
            }
        } catch (RuntimeException e) {
            LOG.errorf(e, "model '%s' version %s failed on a batch of %d", model, version, batch.size());
            InferenceException failure = new InferenceException(InferenceException.Kind.INTERNAL,
                    "model '" + model + "' version " + version + " failed to run: " + e.getMessage(), e);
            batch.forEach(p -> fail(p, failure));
        }
    }

    private void fail(Pending p, InferenceException e) {
        metrics.failed(model, version, e.kind());
        p.trace().failed(e.kind(), e.getMessage());
        p.result().completeExceptionally(e);
    }

    private Set<String> requestedOutputs(List<Pending> batch) {
        Set<String> union = new LinkedHashSet<>();
        for (Pending p : batch) {
            union.addAll(wanted(p.request()));
        }
        return union;
    }

    private List<String> wanted(InferRequest request) {
        if (!request.outputs().isEmpty()) {
            return List.copyOf(request.outputs());
        }
        return runner.outputs().stream().map(TensorSpec::name).toList();
    }

    private static Map<String, Tensor> byName(List<Tensor> tensors) {
        return tensors.stream().collect(Collectors.toMap(Tensor::name, Function.identity()));
    }

    /** The size of every named variable dimension (batch excluded) of the given inputs. */
    private Map<String, Long> dimensionSizes(java.util.Collection<Tensor> tensors) {
        Map<String, Long> sizes = new HashMap<>();
        for (Tensor t : tensors) {
            if (!settings.raggedInputs().contains(t.name())) {
                continue;
            }
            TensorSpec spec = runner.inputs().stream().filter(s -> s.name().equals(t.name())).findFirst().orElse(null);
            if (spec == null) {
                continue;
            }
            for (int d = 1; d < t.shape().length && d < spec.dimensionNames().size(); d++) {
                String dim = spec.dimensionNames().get(d);
                if (!dim.isEmpty() && spec.shape()[d] < 0) {
                    sizes.put(dim, t.shape()[d]);
                }
            }
        }
        return sizes;
    }

    /**
     * Concatenates each input along the batch dimension: one bulk copy per request and input, or,
     * for a ragged input whose sizes differ within the batch, a zero-padded copy.
     */
    private static Map<String, Tensor> join(List<Pending> batch, Set<String> ragged) {
        List<Tensor> firstInputs = batch.get(0).request().inputs();
        Map<String, Tensor> joined = new HashMap<>();
        for (Tensor template : firstInputs) {
            List<Tensor> parts = new ArrayList<>(batch.size());
            for (Pending p : batch) {
                parts.add(p.request().inputs().stream().filter(t -> t.name().equals(template.name()))
                        .findFirst().orElseThrow());
            }
            long rows = parts.stream().mapToLong(Tensor::rows).sum();
            long[] shape = template.shape().clone();
            shape[0] = rows;
            if (ragged.contains(template.name()) && template.datatype() != Datatype.BYTES
                    && parts.stream().anyMatch(t -> !Shapes.sameRowShape(t.shape(), template.shape()))) {
                joined.put(template.name(), Ragged.pad(template.name(), parts, Ragged.maxRowShape(parts)));
            } else if (template.datatype() == Datatype.BYTES) {
                byte[][] all = parts.stream().flatMap(t -> Arrays.stream(t.strings())).toArray(byte[][]::new);
                joined.put(template.name(), Tensor.ofStrings(template.name(), shape, all));
            } else {
                int bytes = parts.stream().mapToInt(t -> t.data().remaining()).sum();
                ByteBuffer buffer = ByteBuffer.allocateDirect(bytes).order(ByteOrder.LITTLE_ENDIAN);
                parts.forEach(t -> buffer.put(t.data().duplicate()));
                buffer.flip();
                joined.put(template.name(), Tensor.ofBuffer(template.name(), template.datatype(), shape, buffer));
            }
        }
        return joined;
    }

    /**
     * The rows [offset, offset+rows) of a batched output; shares memory with it unless the batch was
     * padded: then each dimension named like a padded one is cut back to the caller's own size.
     */
    private Tensor slice(Tensor out, long offset, long rows, long totalRows, Map<String, Long> padded,
                         Map<String, Long> mine) {
        if (out.shape().length == 0 || out.shape()[0] != totalRows) {
            throw new InferenceException(InferenceException.Kind.INTERNAL, "output '" + out.name() + "' of model '"
                    + model + "' has shape " + Shapes.format(out.shape()) + ", not " + totalRows
                    + " rows: the model does not keep the batch dimension; set max_batch_size: 0");
        }
        if (!padded.isEmpty() && out.datatype() != Datatype.BYTES) {
            TensorSpec spec = runner.outputs().stream().filter(s -> s.name().equals(out.name())).findFirst()
                    .orElse(null);
            long[] own = Arrays.copyOfRange(out.shape(), 1, out.shape().length);
            boolean cut = false;
            for (int d = 1; spec != null && d < out.shape().length && d < spec.dimensionNames().size(); d++) {
                String dim = spec.dimensionNames().get(d);
                Long size = mine.get(dim);
                if (size != null && out.shape()[d] == padded.get(dim) && size < out.shape()[d]) {
                    own[d - 1] = size;
                    cut = true;
                }
            }
            if (cut) {
                return Ragged.crop(out, offset, rows, own);
            }
        }
        long[] shape = out.shape().clone();
        shape[0] = rows;
        if (out.datatype() == Datatype.BYTES) {
            long perRow = out.strings().length / totalRows;
            return Tensor.ofStrings(out.name(), shape,
                    Arrays.copyOfRange(out.strings(), (int) (offset * perRow), (int) ((offset + rows) * perRow)));
        }
        int rowBytes = (int) (out.data().remaining() / totalRows);
        ByteBuffer view = out.data().duplicate();
        view.position(view.position() + (int) offset * rowBytes);
        view.limit(view.position() + (int) rows * rowBytes);
        return Tensor.ofBuffer(out.name(), out.datatype(), shape, view.slice());
    }

    /** Stops taking requests, lets the workers finish what is queued, then frees the model. */
    @Override
    public void close() {
        accepting = false;
        for (Thread worker : workers) {
            try {
                worker.join(TimeUnit.SECONDS.toMillis(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        Pending left;
        while ((left = queue.poll()) != null) {
            fail(left, InferenceException.unavailable("model '" + model + "' version " + version + " was unloaded"));
        }
        runner.close();
    }
}
