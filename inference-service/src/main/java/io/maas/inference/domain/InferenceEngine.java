package io.maas.inference.domain;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;

/**
 * Entry point of the serving path shared by the gRPC and REST frontends: resolves the model
 * version, checks the request against the model's signature, and queues it.
 */
public final class InferenceEngine {
    private final ModelRepository repository;
    private final InferenceMetrics metrics;

    public InferenceEngine(ModelRepository repository, InferenceMetrics metrics) {
        this.repository = repository;
        this.metrics = metrics;
    }

    public ModelRepository repository() {
        return repository;
    }

    /** @throws InferenceException when the request cannot be queued; later failures complete the future */
    public CompletableFuture<InferResult> infer(InferRequest request) {
        ModelVersion version;
        try {
            version = repository.resolve(request.modelName(), request.modelVersion());
        } catch (InferenceException e) {
            // Unknown names are not used as metric labels: a misbehaving client must not create series.
            boolean known = repository.model(request.modelName()).isPresent();
            metrics.failed(known ? request.modelName() : "_unknown", known ? request.modelVersion() : "", e.kind());
            throw e;
        }
        try {
            ServedModel model = repository.model(request.modelName()).orElseThrow(
                    () -> InferenceException.unavailable("model '" + request.modelName() + "' was just unloaded"));
            InferRequest conformed = conform(model.settings(), version, request);
            validate(model.settings(), version, conformed);
            checkClassifications(model, version, conformed);
            CompletableFuture<InferResult> result = version.scheduler().submit(conformed);
            return conformed.classifications().isEmpty() ? result : result.thenApply(r -> classify(model, r,
                    conformed.classifications()));
        } catch (InferenceException e) {
            metrics.failed(version.model(), version.versionLabel(), e.kind());
            throw e;
        }
    }

    /**
     * A batching model whose input rows are one element ([-1, 1], e.g. one text per row) also takes
     * that input as a flat list, shape [n], as [n, 1]: what curl users and many clients send.
     */
    static InferRequest conform(ModelSettings settings, ModelVersion version, InferRequest request) {
        if (settings.maxBatchSize() <= 0) {
            return request;
        }
        List<Tensor> inputs = null;
        for (int i = 0; i < request.inputs().size(); i++) {
            Tensor t = request.inputs().get(i);
            TensorSpec spec = version.runner().inputs().stream().filter(s -> s.name().equals(t.name())).findFirst()
                    .orElse(null);
            if (spec != null && spec.shape().length == 2 && spec.shape()[1] == 1 && t.shape().length == 1) {
                if (inputs == null) {
                    inputs = new java.util.ArrayList<>(request.inputs());
                }
                inputs.set(i, new Tensor(t.name(), t.datatype(), new long[]{t.shape()[0], 1}, t.data(), t.strings()));
            }
        }
        return inputs == null ? request : request.withInputs(List.copyOf(inputs));
    }

    private static void checkClassifications(ServedModel model, ModelVersion version, InferRequest request) {
        for (Map.Entry<String, Integer> c : request.classifications().entrySet()) {
            if (version.runner().outputs().stream().noneMatch(o -> o.name().equals(c.getKey()))) {
                throw InferenceException.invalid("classification asked for output '" + c.getKey() + "', which model '"
                        + model.name() + "' does not have; its outputs are " + describe(version.runner().outputs()));
            }
            if (c.getValue() < 1) {
                throw InferenceException.invalid("classification of output '" + c.getKey() + "' asks for "
                        + c.getValue() + " classes; ask for 1 or more");
            }
        }
    }

    private static InferResult classify(ServedModel model, InferResult result, Map<String, Integer> wanted) {
        List<Tensor> outputs = result.outputs().stream().map(t -> wanted.containsKey(t.name())
                ? Classification.topK(t, wanted.get(t.name()), model.labels().getOrDefault(t.name(), List.of()))
                : t).toList();
        return new InferResult(result.modelName(), result.modelVersion(), result.id(), outputs);
    }

    static void validate(ModelSettings settings, ModelVersion version, InferRequest request) {
        String model = "model '" + version.model() + "' version " + version.version();
        List<TensorSpec> specs = version.runner().inputs();
        Set<String> seen = new HashSet<>();
        long batch = -1;
        for (Tensor t : request.inputs()) {
            if (!seen.add(t.name())) {
                throw InferenceException.invalid("input '" + t.name() + "' is given twice");
            }
            TensorSpec spec = specs.stream().filter(s -> s.name().equals(t.name())).findFirst()
                    .orElseThrow(() -> InferenceException.invalid(model + " has no input '" + t.name()
                            + "'; its inputs are " + describe(specs)));
            if (t.datatype() != spec.datatype()) {
                throw InferenceException.invalid("input '" + t.name() + "' has datatype " + t.datatype() + " but "
                        + model + " expects " + spec.datatype());
            }
            for (long d : t.shape()) {
                if (d < 0) {
                    throw InferenceException.invalid("input '" + t.name() + "' has a negative dimension in shape "
                            + Shapes.format(t.shape()));
                }
            }
            if (!Shapes.matches(spec.shape(), t.shape())) {
                throw InferenceException.invalid("input '" + t.name() + "' has shape " + Shapes.format(t.shape())
                        + " but " + model + " expects " + Shapes.format(spec.shape()) + " (-1: any size)");
            }
            if (settings.maxBatchSize() > 0) {
                long rows = t.shape()[0];
                if (rows < 1 || rows > settings.maxBatchSize()) {
                    throw InferenceException.invalid("input '" + t.name() + "' has batch size " + rows + "; "
                            + model + " accepts 1 to " + settings.maxBatchSize() + " (max_batch_size)");
                }
                if (batch >= 0 && batch != rows) {
                    throw InferenceException.invalid("inputs disagree on the batch size (first dimension): "
                            + batch + " and " + rows);
                }
                batch = rows;
            }
            checkSize(t);
            long limit = settings.maxInputElements();
            if (limit > 0 && t.elementCount() > limit) {
                throw InferenceException.invalid("input '" + t.name() + "' has " + t.elementCount() + " elements (shape "
                        + Shapes.format(t.shape()) + "); " + model + " takes at most " + limit + " per input in one"
                        + " call (max_input_elements, what its pods' memory is sized for): send fewer rows or"
                        + " shorter inputs per call");
            }
            long longest = settings.maxSequenceLength();
            if (longest > 0 && t.shape().length > 0 && t.shape()[t.shape().length - 1] > longest) {
                throw InferenceException.invalid("input '" + t.name() + "' has " + t.shape()[t.shape().length - 1]
                        + " elements along its last dimension (shape " + Shapes.format(t.shape()) + "); " + model
                        + " takes at most " + longest + " (max_sequence_length, the longest sequence the model was"
                        + " built for): send shorter sequences");
            }
        }
        checkNamedDimensions(specs, request.inputs());
        List<String> missing = specs.stream().map(TensorSpec::name).filter(n -> !seen.contains(n)).toList();
        if (!missing.isEmpty()) {
            throw InferenceException.invalid("missing input(s) " + missing + " for " + model + "; its inputs are "
                    + describe(specs));
        }
        List<TensorSpec> outputs = version.runner().outputs();
        for (String name : request.outputs()) {
            if (outputs.stream().noneMatch(o -> o.name().equals(name))) {
                throw InferenceException.invalid(model + " has no output '" + name + "'; its outputs are "
                        + describe(outputs));
            }
        }
    }

    /**
     * Dynamic dimensions the model names alike must agree across inputs (input_ids and attention_mask
     * of one length): ONNX Runtime would otherwise fail deep in the graph with a generic error that
     * cannot be told from a server fault.
     */
    private static void checkNamedDimensions(List<TensorSpec> specs, List<Tensor> inputs) {
        Map<String, String> firstSeen = new HashMap<>();
        Map<String, Long> sizes = new HashMap<>();
        for (Tensor t : inputs) {
            TensorSpec spec = specs.stream().filter(s -> s.name().equals(t.name())).findFirst().orElseThrow();
            List<String> names = spec.dimensionNames();
            if (names.size() != t.shape().length) {
                continue;
            }
            for (int i = 0; i < names.size(); i++) {
                String dim = names.get(i);
                if (dim.isEmpty() || spec.shape()[i] >= 0) {
                    continue;
                }
                Long size = sizes.putIfAbsent(dim, t.shape()[i]);
                firstSeen.putIfAbsent(dim, t.name());
                if (size != null && size != t.shape()[i]) {
                    throw InferenceException.invalid("inputs disagree on dimension '" + dim + "': '"
                            + firstSeen.get(dim) + "' has " + size + ", '" + t.name() + "' has " + t.shape()[i]
                            + "; the model needs them equal");
                }
            }
        }
    }

    private static void checkSize(Tensor t) {
        long elements;
        try {
            elements = t.elementCount();
        } catch (ArithmeticException e) {
            throw InferenceException.invalid("input '" + t.name() + "' shape " + Shapes.format(t.shape())
                    + " is too large");
        }
        if (t.datatype().isFixedSize()) {
            long expected = elements * t.datatype().byteSize();
            if (t.data().remaining() != expected) {
                throw InferenceException.invalid("input '" + t.name() + "' carries " + t.data().remaining()
                        + " bytes but shape " + Shapes.format(t.shape()) + " of " + t.datatype() + " needs "
                        + expected + " bytes");
            }
        } else if (t.strings().length != elements) {
            throw InferenceException.invalid("input '" + t.name() + "' carries " + t.strings().length
                    + " BYTES elements but shape " + Shapes.format(t.shape()) + " needs " + elements);
        }
    }

    static String describe(List<TensorSpec> specs) {
        return specs.stream().map(s -> s.name() + " " + s.datatype() + Shapes.format(s.shape()))
                .collect(Collectors.joining(", ", "[", "]"));
    }
}
