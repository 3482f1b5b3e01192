package io.maas.inference.domain;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

/**
 * A pipeline (Triton's ensemble) served as a model: its steps run other models of the repository,
 * each through that model's own scheduler (so a step model batches its callers, pipelines and direct
 * callers alike), in an order where every step reads only tensors already written. The wiring is
 * checked when the pipeline loads, against the step models then ready; each call resolves the step
 * models again, so a step model's new version is picked up like for any caller. Steps run one after
 * another (no two steps of one call in parallel).
 */
public final class Pipeline implements ModelRunner, Scheduler {
    private final String name;
    private final String version;
    private final ModelSettings settings;
    private final ModelRepository models;
    private final InferenceMetrics metrics;
    private final List<PipelineStep> order;
    private final List<TensorSpec> inputs;
    private final List<TensorSpec> outputs;
    private final AtomicInteger running = new AtomicInteger();
    private final Executor continuations;

    /**
     * @param continuations runs the steps after the first (cheap steps such as pooling, and the hand-off
     *                      to the next model's queue), so that a model's batch worker is never held by them
     * @throws InferenceException UNAVAILABLE naming the step and tensors when the wiring does not fit
     */
    public Pipeline(String name, long version, ModelSettings settings, ModelRepository models,
                    InferenceMetrics metrics, Executor continuations) {
        this.name = name;
        this.continuations = continuations;
        this.version = Long.toString(version);
        this.settings = settings;
        this.models = models;
        this.metrics = metrics;
        this.inputs = withBatch(settings.declaredInputs(), settings.maxBatchSize());
        this.outputs = withBatch(settings.declaredOutputs(), settings.maxBatchSize());
        this.order = wire();
    }

    private static List<TensorSpec> withBatch(List<TensorSpec> declared, int maxBatchSize) {
        return declared.stream().map(t -> {
            if (maxBatchSize <= 0) {
                return t;
            }
            long[] shape = new long[t.shape().length + 1];
            shape[0] = -1;
            System.arraycopy(t.shape(), 0, shape, 1, t.shape().length);
            return new TensorSpec(t.name(), t.datatype(), shape);
        }).toList();
    }

    /** Orders the steps by data flow and checks every connection's names and datatypes. */
    private List<PipelineStep> wire() {
        Map<String, Datatype> available = new LinkedHashMap<>();
        Map<String, String> writer = new HashMap<>();
        Map<String, long[]> shapes = new HashMap<>();
        for (TensorSpec in : inputs) {
            available.put(in.name(), in.datatype());
            shapes.put(in.name(), in.shape());
            writer.put(in.name(), "pipeline input");
        }
        List<PipelineStep> pending = new ArrayList<>(settings.steps());
        List<PipelineStep> ordered = new ArrayList<>();
        while (!pending.isEmpty()) {
            PipelineStep next = pending.stream()
                    .filter(s -> available.keySet().containsAll(s.inputMap().values())).findFirst().orElse(null);
            if (next == null) {
                throw refuse(pending.stream().map(s -> "step '" + s.modelName() + "' reads "
                        + s.inputMap().values().stream().filter(t -> !available.containsKey(t)).toList())
                        .collect(Collectors.joining("; ")) + ", which neither the pipeline's inputs nor any step"
                        + " writes (written: " + available.keySet() + ")");
            }
            pending.remove(next);
            ModelVersion step = stepVersion(next, true);
            String label = "step '" + next.modelName() + "'";
            for (TensorSpec in : step.runner().inputs()) {
                if (!next.inputMap().containsKey(in.name())) {
                    throw refuse(label + " does not map its model's input '" + in.name() + "' (input_map has "
                            + next.inputMap().keySet() + ")");
                }
            }
            for (Map.Entry<String, String> e : next.inputMap().entrySet()) {
                TensorSpec in = spec(step.runner().inputs(), e.getKey());
                if (in == null) {
                    throw refuse(label + " maps input '" + e.getKey() + "', which model '" + next.modelName()
                            + "' does not have; its inputs are " + InferenceEngine.describe(step.runner().inputs()));
                }
                Datatype have = available.get(e.getValue());
                if (have != in.datatype()) {
                    throw refuse(label + " input '" + e.getKey() + "' is " + in.datatype() + " but tensor '"
                            + e.getValue() + "' (from " + writer.get(e.getValue()) + ") is " + have);
                }
                long[] shape = shapes.get(e.getValue());
                if (shape != null && !compatible(shape, in.shape())) {
                    throw refuse(label + " input '" + e.getKey() + "' has shape " + Shapes.format(in.shape())
                            + " but tensor '" + e.getValue() + "' (from " + writer.get(e.getValue()) + ") has "
                            + Shapes.format(shape));
                }
            }
            for (Map.Entry<String, String> e : next.outputMap().entrySet()) {
                TensorSpec out = spec(step.runner().outputs(), e.getKey());
                if (out == null) {
                    throw refuse(label + " maps output '" + e.getKey() + "', which model '" + next.modelName()
                            + "' does not have; its outputs are " + InferenceEngine.describe(step.runner().outputs()));
                }
                if (writer.containsKey(e.getValue())) {
                    throw refuse(label + " writes tensor '" + e.getValue() + "', already written by "
                            + writer.get(e.getValue()));
                }
                available.put(e.getValue(), out.datatype());
                shapes.put(e.getValue(), out.shape());
                writer.put(e.getValue(), label + " output '" + e.getKey() + "'");
            }
            ordered.add(next);
        }
        for (TensorSpec out : outputs) {
            if (!available.containsKey(out.name())) {
                throw refuse("no step writes the pipeline output '" + out.name() + "' (written: "
                        + available.keySet() + ")");
            }
            if (shapes.get(out.name()) != null && !compatible(shapes.get(out.name()), out.shape())) {
                throw refuse("output '" + out.name() + "' is declared with shape " + Shapes.format(out.shape())
                        + " but " + writer.get(out.name()) + " has " + Shapes.format(shapes.get(out.name())));
            }
            if (available.get(out.name()) != out.datatype()) {
                throw refuse("output '" + out.name() + "' is declared " + out.datatype() + " but "
                        + writer.get(out.name()) + " is " + available.get(out.name()));
            }
        }
        return List.copyOf(ordered);
    }

    /** Same rank, and every dimension both fix (not -1) of the same size. */
    private static boolean compatible(long[] a, long[] b) {
        if (a.length != b.length) {
            return false;
        }
        for (int d = 0; d < a.length; d++) {
            if (a[d] >= 0 && b[d] >= 0 && a[d] != b[d]) {
                return false;
            }
        }
        return true;
    }

    private InferenceException refuse(String problem) {
        return InferenceException.unavailable("pipeline '" + name + "': " + problem);
    }

    private static TensorSpec spec(List<TensorSpec> specs, String name) {
        return specs.stream().filter(s -> s.name().equals(name)).findFirst().orElse(null);
    }

    /** The step's model version; its absence is the pipeline's fault (UNAVAILABLE), never the caller's. */
    private ModelVersion stepVersion(PipelineStep step, boolean loading) {
        try {
            return models.resolve(step.modelName(), step.versionLabel());
        } catch (InferenceException e) {
            throw new InferenceException(InferenceException.Kind.UNAVAILABLE, "pipeline '" + name + "'"
                    + (loading ? "" : " version " + version) + ": step model '" + step.modelName()
                    + "' is not ready: " + e.getMessage());
        }
    }

    @Override
    public CompletableFuture<InferResult> submit(InferRequest request) {
        running.incrementAndGet();
        long start = System.nanoTime();
        Map<String, Tensor> tensors = new HashMap<>();
        request.inputs().forEach(t -> tensors.put(t.name(), t));
        CompletableFuture<Map<String, Tensor>> flow = CompletableFuture.completedFuture(tensors);
        for (PipelineStep step : order) {
            // The first step runs on the caller's thread; later ones on the continuation executor, never on
            // the thread that completed the previous step (a model's batch worker, which has callers waiting).
            flow = step == order.get(0) ? flow.thenCompose(t -> runStep(step, t, request))
                    : flow.thenComposeAsync(t -> runStep(step, t, request), continuations);
        }
        List<String> wanted = request.outputs().isEmpty() ? outputs.stream().map(TensorSpec::name).toList()
                : List.copyOf(request.outputs());
        return flow.handle((t, failure) -> {
            running.decrementAndGet();
            if (failure != null) {
                Throwable cause = failure instanceof CompletionException && failure.getCause() != null
                        ? failure.getCause() : failure;
                InferenceException e = cause instanceof InferenceException ie ? ie
                        : new InferenceException(InferenceException.Kind.INTERNAL, "pipeline '" + name
                                + "' failed: " + cause.getMessage(), cause);
                metrics.failed(name, version, e.kind());
                throw e;
            }
            metrics.succeeded(name, version, 0, System.nanoTime() - start);
            return new InferResult(name, version, request.id(), wanted.stream().map(o -> rename(t.get(o), o)).toList());
        });
    }

    private CompletableFuture<Map<String, Tensor>> runStep(PipelineStep step, Map<String, Tensor> tensors,
                                                           InferRequest request) {
        ModelVersion v = stepVersion(step, false);
        List<Tensor> in = step.inputMap().entrySet().stream()
                .map(e -> rename(tensors.get(e.getValue()), e.getKey())).toList();
        InferRequest stepRequest = new InferRequest(step.modelName(), v.versionLabel(), request.id(), in,
                Set.copyOf(step.outputMap().keySet()), request.deadlineNanos(), request.cancelled());
        ServedModel model = models.model(step.modelName()).orElseThrow(() -> InferenceException.unavailable(
                "pipeline '" + name + "': step model '" + step.modelName() + "' was just unloaded"));
        try {
            InferenceEngine.validate(model.settings(), v, stepRequest);
        } catch (InferenceException e) {
            // the caller sent the pipeline's inputs, not this step's: say where it failed
            throw new InferenceException(e.kind(), "pipeline '" + name + "', step '" + step.modelName() + "': "
                    + e.getMessage(), e);
        }
        return v.scheduler().submit(stepRequest).thenApply(result -> {
            for (Tensor out : result.outputs()) {
                tensors.put(step.outputMap().get(out.name()), rename(out, step.outputMap().get(out.name())));
            }
            return tensors;
        });
    }

    private static Tensor rename(Tensor t, String name) {
        return t.name().equals(name) ? t : new Tensor(name, t.datatype(), t.shape(), t.data(), t.strings());
    }

    /** The steps in the order they run. */
    public List<PipelineStep> order() {
        return order;
    }

    @Override
    public List<TensorSpec> inputs() {
        return inputs;
    }

    @Override
    public List<TensorSpec> outputs() {
        return outputs;
    }

    @Override
    public String executionProvider() {
        return "pipeline of " + order.stream().map(PipelineStep::modelName).toList();
    }

    /** Runs one call to its end on this thread (for callers that need a synchronous runner). */
    @Override
    public Map<String, Tensor> run(Map<String, Tensor> in, Set<String> out) {
        InferResult r;
        try {
            r = submit(new InferRequest(name, version, "", List.copyOf(in.values()), out, Long.MAX_VALUE,
                    InferRequest.NEVER_CANCELLED)).join();
        } catch (CompletionException e) {
            throw e.getCause() instanceof InferenceException ie ? ie : e;
        }
        return r.outputs().stream().collect(Collectors.toMap(Tensor::name, t -> t));
    }

    @Override
    public int queued() {
        return running.get();
    }

    /** The step models are models of their own: nothing to free here. */
    @Override
    public void close() {
    }
}
