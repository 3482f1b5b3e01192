package io.maas.inference.domain;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Per-model serving settings from the model's config file, with defaults filled in.
 *
 * @param maxBatchSize      0: requests are never joined and shapes are taken as-is
 * @param batchingEnabled   dynamic batching on (requests are joined up to maxBatchSize)
 * @param maxQueueDelayMicros the longest a worker waits for callers it expects back (never for a lone request)
 * @param maxQueueSize      requests waiting beyond this are refused at once
 * @param instanceCount     batches run in parallel on this many workers
 * @param declaredInputs    inputs listed in the config file, checked against the model; may be empty
 * @param platform          what runs the model: {@link #ONNX}, {@link #ENSEMBLE} or a built-in step's backend name
 * @param parameters        the config's parameters (backend settings such as a tokenizer's max_length)
 * @param steps             the pipeline's steps when the platform is {@link #ENSEMBLE}
 * @param raggedInputs      inputs whose variable dimensions may differ within a batch (padded by the batcher)
 * @param labelFiles        output name to its labels file (in the model folder), for classification
 * @param preferredBatchSize the most rows the batcher joins into one run (dynamic_batching's largest
 *                          preferred_batch_size), 0 for maxBatchSize; a bigger single request still runs
 */
public record ModelSettings(int maxBatchSize, boolean batchingEnabled, long maxQueueDelayMicros, int maxQueueSize,
                            int instanceCount, Device device, int deviceId, VersionPolicy versionPolicy,
                            String modelFilename, List<TensorSpec> declaredInputs, List<TensorSpec> declaredOutputs,
                            String platform, Map<String, String> parameters, List<PipelineStep> steps,
                            Set<String> raggedInputs, Map<String, String> labelFiles, int preferredBatchSize) {

    public static final String DEFAULT_MODEL_FILENAME = "model.onnx";
    public static final String ONNX = "onnxruntime_onnx";
    public static final String ENSEMBLE = "ensemble";

    /** An ONNX model without pipeline, parameters, ragged inputs or labels. */
    public ModelSettings(int maxBatchSize, boolean batchingEnabled, long maxQueueDelayMicros, int maxQueueSize,
                         int instanceCount, Device device, int deviceId, VersionPolicy versionPolicy,
                         String modelFilename, List<TensorSpec> declaredInputs, List<TensorSpec> declaredOutputs) {
        this(maxBatchSize, batchingEnabled, maxQueueDelayMicros, maxQueueSize, instanceCount, device, deviceId,
                versionPolicy, modelFilename, declaredInputs, declaredOutputs, ONNX, Map.of(), List.of(), Set.of(),
                Map.of(), 0);
    }

    /** Settings for a model folder without a config file. */
    public static ModelSettings defaults(int defaultQueueSize) {
        return new ModelSettings(0, false, 0, defaultQueueSize, 1, Device.AUTO, 0,
                new VersionPolicy.Latest(1), DEFAULT_MODEL_FILENAME, List.of(), List.of());
    }

    /** Largest number of rows one run may carry. */
    public int batchLimit() {
        return batchingEnabled && maxBatchSize > 0 ? maxBatchSize : 1;
    }

    /**
     * Most rows the batcher joins from several requests into one run: the preferred batch size when
     * set (smaller runs hold less activation memory and, on a few cores, run no slower per row), else
     * {@link #batchLimit()}.
     */
    public int joinLimit() {
        return preferredBatchSize > 0 ? Math.min(preferredBatchSize, batchLimit()) : batchLimit();
    }

    /** Models of the repository this one uses: its pipeline steps, or the embedding model a backend calls. */
    public Set<String> dependencies() {
        Set<String> names = new java.util.TreeSet<>();
        steps.forEach(s -> names.add(s.modelName()));
        String embedder = parameter("embedding_model", "");
        if (!embedder.isEmpty()) {
            names.add(embedder);
        }
        return names;
    }

    public boolean isEnsemble() {
        return ENSEMBLE.equals(platform);
    }

    /**
     * How much padding a ragged batch may add: the batch's padded elements of its ragged inputs may be at
     * most (1 + this) times its callers' own (parameter {@code ragged_batch_max_padding}, e.g. 0.25); a
     * caller that would pad more waits for a batch of lengths like its own. Unlimited when not set.
     *
     * @throws InferenceException UNAVAILABLE when the parameter is not a number >= 0
     */
    public double raggedMaxPadding() {
        String v = parameter(RAGGED_MAX_PADDING, "");
        if (v.isEmpty()) {
            return Double.POSITIVE_INFINITY;
        }
        try {
            double limit = Double.parseDouble(v);
            if (limit >= 0 && !Double.isNaN(limit)) {
                return limit;
            }
        } catch (NumberFormatException e) {
            // Refused below, with the accepted form.
        }
        throw InferenceException.unavailable("parameter " + RAGGED_MAX_PADDING + " is '" + v + "'; it must be a"
                + " number >= 0, the padding a ragged batch may add as a fraction of its callers' own elements"
                + " (e.g. \"0.25\")");
    }

    public static final String RAGGED_MAX_PADDING = "ragged_batch_max_padding";

    /**
     * The most elements one input of one call may hold, rows included (parameter {@code max_input_elements};
     * 0, the default: no limit). What a run holds grows with its inputs, a transformer's attention with
     * rows x length squared, so a single call far beyond what the pod's memory was sized for would stop the
     * pod, and every caller's calls with it; over the limit a call is the caller's mistake, refused at once.
     *
     * @throws InferenceException UNAVAILABLE when the parameter is not a whole number >= 0
     */
    public long maxInputElements() {
        return wholeParameter(MAX_INPUT_ELEMENTS, 0, "the most elements one input of one call may hold (0: no limit)");
    }

    /**
     * The most elements along the last dimension of any input of one call (parameter
     * {@code max_sequence_length}; 0, the default: no limit): a text model's tokens per sequence. A
     * transformer declares that dimension variable in its file yet only has position embeddings for so
     * many (MiniLM: 512); longer, ONNX Runtime fails deep in the graph with a generic error that would
     * count as the server's fault. Over the limit a call is the caller's mistake, refused at once.
     *
     * @throws InferenceException UNAVAILABLE when the parameter is not a whole number >= 0
     */
    public long maxSequenceLength() {
        return wholeParameter(MAX_SEQUENCE_LENGTH, 0, "the most elements along the last dimension of an input (0: no limit)");
    }

    public static final String MAX_SEQUENCE_LENGTH = "max_sequence_length";

    /**
     * A parameter that is a whole number >= 0, or {@code otherwise} when the config does not set it.
     *
     * @throws InferenceException UNAVAILABLE, saying what the number is ({@code meaning}), when it is not one
     */
    public long wholeParameter(String key, long otherwise, String meaning) {
        String v = parameter(key, "");
        if (v.isEmpty()) {
            return otherwise;
        }
        try {
            long n = Long.parseLong(v);
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // Refused below, with the accepted form.
        }
        throw InferenceException.unavailable("parameter " + key + " is '" + v + "'; it must be a whole number >= 0, "
                + meaning);
    }

    public static final String MAX_INPUT_ELEMENTS = "max_input_elements";

    /** A parameter's value, or the default when the config does not set it. */
    public String parameter(String key, String defaultValue) {
        String v = parameters.get(key);
        return v == null || v.isBlank() ? defaultValue : v.trim();
    }
}
