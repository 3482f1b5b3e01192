package io.maas.registry.domain;

import java.util.List;
import java.util.Map;

public record ModelVersion(String model, String version, String artifactUri, String sha256,
                           List<TensorSpec> inputs, List<TensorSpec> outputs, String framework,
                           Map<String, String> labels, String description, Stage stage,
                           long createdAtMs, String createdBy) {
    public ModelVersion {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        labels = Map.copyOf(labels);
    }

    public ModelVersion withStage(Stage newStage) {
        return new ModelVersion(model, version, artifactUri, sha256, inputs, outputs, framework, labels,
                description, newStage, createdAtMs, createdBy);
    }
}
