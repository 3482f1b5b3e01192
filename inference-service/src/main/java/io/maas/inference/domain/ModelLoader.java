package io.maas.inference.domain;

import java.nio.file.Path;

/** Turns a model file into a {@link ModelRunner}. */
public interface ModelLoader {

    /** @throws InferenceException UNAVAILABLE with the reason when the file cannot be loaded */
    ModelRunner load(Path modelFile, ModelSettings settings);

    /**
     * Loads a model that may use other models of the repository (a zero-shot classifier embeds its
     * label descriptions with the repository's embedding model); those are listed by
     * {@link ModelSettings#dependencies()} and loaded first.
     */
    default ModelRunner load(Path modelFile, ModelSettings settings, ModelRepository models) {
        return load(modelFile, settings);
    }
}
