package io.maas.registry.domain;

import java.util.Map;

public record Model(String name, String description, Map<String, String> labels, long createdAtMs, String createdBy) {
    public Model {
        labels = Map.copyOf(labels);
    }
}
