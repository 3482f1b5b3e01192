package io.maas.inference.domain;

import java.util.Map;

/**
 * One step of a pipeline (a Triton ensemble step): the model it runs and how its tensors are wired.
 *
 * @param modelVersion a version number, or -1 for the highest ready version at the time of the call
 * @param inputMap     the step model's input name to the pipeline tensor it reads
 * @param outputMap    the step model's output name to the pipeline tensor it writes
 */
public record PipelineStep(String modelName, long modelVersion, Map<String, String> inputMap,
                           Map<String, String> outputMap) {

    public String versionLabel() {
        return modelVersion > 0 ? Long.toString(modelVersion) : "";
    }
}
