package io.maas.inference.domain;

/** A model's declared input or output: name, datatype and shape (-1 for any size). */
public record TensorSpec(String name, Datatype datatype, long[] shape) {
}
