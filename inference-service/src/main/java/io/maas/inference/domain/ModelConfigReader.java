package io.maas.inference.domain;

import java.nio.file.Path;

/** Reads a model folder's optional config file into {@link ModelSettings}. */
public interface ModelConfigReader {

    /** @throws InferenceException UNAVAILABLE naming the file and the problem when it is malformed */
    ModelSettings read(Path modelDir);
}
