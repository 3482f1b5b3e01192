package io.maas.inference.domain;

import java.util.List;

/**
 * Per-model serving settings from the model's config file, with defaults filled in.
 *
 * @param maxBatchSize      0: requests are never joined and shapes are taken as-is
 * @param batchingEnabled   dynamic batching on (requests are joined up to maxBatchSize)
 * @param maxQueueDelayMicros the longest a worker waits for callers it expects back (never for a lone request)
 * @param maxQueueSize      requests waiting beyond this are refused at once
 * @param instanceCount     batches run in parallel on this many workers
 * @param declaredInputs    inputs listed in the config file, checked against the model; may be empty
 */
public record ModelSettings(int maxBatchSize, boolean batchingEnabled, long maxQueueDelayMicros, int maxQueueSize,
                            int instanceCount, Device device, int deviceId, VersionPolicy versionPolicy,
                            String modelFilename, List<TensorSpec> declaredInputs, List<TensorSpec> declaredOutputs) {

    public static final String DEFAULT_MODEL_FILENAME = "model.onnx";

    /** Settings for a model folder without a config file. */
    public static ModelSettings defaults(int defaultQueueSize) {
        return new ModelSettings(0, false, 0, defaultQueueSize, 1, Device.AUTO, 0,
                new VersionPolicy.Latest(1), DEFAULT_MODEL_FILENAME, List.of(), List.of());
    }

    /** Largest number of rows one run may carry. */
    public int batchLimit() {
        return batchingEnabled && maxBatchSize > 0 ? maxBatchSize : 1;
    }
}
