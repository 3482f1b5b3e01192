package io.maas.inference.domain;

import java.nio.file.Path;

/** Turns a model file into a {@link ModelRunner}. */
public interface ModelLoader {

    /** @throws InferenceException UNAVAILABLE with the reason when the file cannot be loaded */
    ModelRunner load(Path modelFile, ModelSettings settings);
}
