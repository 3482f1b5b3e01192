package io.maas.inference.domain;

import java.util.List;
import java.util.Set;
import java.util.function.BooleanSupplier;

/**
 * One inference call after decoding.
 *
 * @param modelVersion   empty for "the server's choice" (the highest ready version)
 * @param outputs        requested output names; empty means all outputs
 * @param deadlineNanos  {@link System#nanoTime()} after which the request must not run; Long.MAX_VALUE for none
 * @param cancelled      true once the caller has gone away
 */
public record InferRequest(String modelName, String modelVersion, String id, List<Tensor> inputs,
                           Set<String> outputs, long deadlineNanos, BooleanSupplier cancelled) {

    public static final BooleanSupplier NEVER_CANCELLED = () -> false;

    public boolean expired(long nowNanos) {
        return deadlineNanos != Long.MAX_VALUE && nowNanos - deadlineNanos >= 0;
    }
}
