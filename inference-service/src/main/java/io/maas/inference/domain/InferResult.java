package io.maas.inference.domain;

import java.util.List;

/** Outputs of one inference call, in the model's output order. */
public record InferResult(String modelName, String modelVersion, String id, List<Tensor> outputs) {
}
