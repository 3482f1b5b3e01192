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

    /** Runs once; inputs are keyed by name and already validated against {@link #inputs()}. */
    Map<String, Tensor> run(Map<String, Tensor> inputs, Set<String> outputs);

    @Override
    void close();
}
