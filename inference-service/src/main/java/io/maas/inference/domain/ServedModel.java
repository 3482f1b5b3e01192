package io.maas.inference.domain;

import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;

/**
 * A model folder as served: its settings and versions, or the reason it could not be read
 * (for example a malformed config file), so the index can say what to fix. {@code labels}: the
 * outputs' class labels (label_filename), by output name.
 */
public record ServedModel(String name, ModelSettings settings, NavigableMap<Long, ModelVersion> versions,
                          String reason, Map<String, List<String>> labels) {

    /** The highest READY version: what a request without a version gets. */
    public Optional<ModelVersion> latestReady() {
        return versions.descendingMap().values().stream().filter(ModelVersion::isReady).findFirst();
    }
}
