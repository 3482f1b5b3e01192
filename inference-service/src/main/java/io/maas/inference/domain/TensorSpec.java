package io.maas.inference.domain;

import java.util.List;

/**
 * A model's declared input or output: name, datatype and shape (-1 for any size).
 *
 * @param dimensionNames the model's names for its dimensions ("" for none), or empty when unknown.
 *                       Dynamic dimensions of two inputs with the same name must have the same size
 *                       (e.g. input_ids and attention_mask share "sequence"): a request that breaks
 *                       this is refused before it reaches the runtime, which would fail on it.
 */
public record TensorSpec(String name, Datatype datatype, long[] shape, List<String> dimensionNames) {

    public TensorSpec(String name, Datatype datatype, long[] shape) {
        this(name, datatype, shape, List.of());
    }
}
