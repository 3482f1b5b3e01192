package io.maas.inference.domain;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;

/**
 * One inference call after decoding.
 *
 * @param modelVersion    empty for "the server's choice" (the highest ready version)
 * @param outputs         requested output names; empty means all outputs
 * @param deadlineNanos   {@link System#nanoTime()} after which the request must not run; Long.MAX_VALUE for none
 * @param cancelled       true once the caller has gone away
 * @param classifications requested outputs to answer as their top classes (Triton's classification
 *                        extension): output name to the number of classes wanted
 */
public record InferRequest(String modelName, String modelVersion, String id, List<Tensor> inputs,
                           Set<String> outputs, long deadlineNanos, BooleanSupplier cancelled,
                           Map<String, Integer> classifications) {

    public static final BooleanSupplier NEVER_CANCELLED = () -> false;

    public InferRequest(String modelName, String modelVersion, String id, List<Tensor> inputs, Set<String> outputs,
                        long deadlineNanos, BooleanSupplier cancelled) {
        this(modelName, modelVersion, id, inputs, outputs, deadlineNanos, cancelled, Map.of());
    }

    public boolean expired(long nowNanos) {
        return deadlineNanos != Long.MAX_VALUE && nowNanos - deadlineNanos >= 0;
    }

    public InferRequest withInputs(List<Tensor> replaced) {
        return new InferRequest(modelName, modelVersion, id, replaced, outputs, deadlineNanos, cancelled,
                classifications);
    }
}
