package io.maas.inference.domain;

import java.util.List;
import java.util.Map;
import java.util.Set;

/** A loaded model that can run: the port the ONNX Runtime adapter implements. */
public interface ModelRunner extends AutoCloseable {

    List<TensorSpec> inputs();

    List<TensorSpec> outputs();

    /** Which execution provider the model actually got, e.g. "CPU" or "CUDA:0". */
    String executionProvider();

    /**
     * Runs once; inputs are keyed by name and already validated against {@link #inputs()}.
     *
     * @throws InferenceException INVALID_ARGUMENT when the runtime refuses the input's values (the
     *         caller's fault), INTERNAL when the runtime or the model fails (the server's fault)
     */
    Map<String, Tensor> run(Map<String, Tensor> inputs, Set<String> outputs);

    /**
     * True for cheap, thread-safe runners (the built-in processing steps): they run on the caller's
     * thread without a queue, see {@link DirectScheduler}.
     */
    default boolean runsInline() {
        return false;
    }

    @Override
    void close();
}
