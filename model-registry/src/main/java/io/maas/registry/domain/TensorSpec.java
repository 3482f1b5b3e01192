package io.maas.registry.domain;

import java.util.List;

/** One input or output tensor of a version's signature; -1 in {@code shape} is a variable dimension. */
public record TensorSpec(String name, String datatype, List<Long> shape) {
    public TensorSpec {
        shape = List.copyOf(shape);
    }
}
