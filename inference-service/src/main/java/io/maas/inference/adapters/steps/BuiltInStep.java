package io.maas.inference.adapters.steps;

import java.util.List;

import io.maas.inference.domain.ModelRunner;
import io.maas.inference.domain.TensorSpec;

/**
 * What the built-in processing steps share: fixed inputs and outputs known at load, plain Java (or a
 * native library called in-line) on the CPU, cheap and thread-safe, so each runs on the caller's thread
 * without a queue; nothing to free unless a step holds a native resource.
 */
abstract class BuiltInStep implements ModelRunner {
    private final List<TensorSpec> inputs;
    private final List<TensorSpec> outputs;
    private final String executionProvider;

    BuiltInStep(List<TensorSpec> inputs, List<TensorSpec> outputs, String executionProvider) {
        this.inputs = List.copyOf(inputs);
        this.outputs = List.copyOf(outputs);
        this.executionProvider = executionProvider;
    }

    /** For steps computed in Java. */
    BuiltInStep(List<TensorSpec> inputs, List<TensorSpec> outputs) {
        this(inputs, outputs, "CPU (Java)");
    }

    @Override
    public final List<TensorSpec> inputs() {
        return inputs;
    }

    @Override
    public final List<TensorSpec> outputs() {
        return outputs;
    }

    @Override
    public final String executionProvider() {
        return executionProvider;
    }

    @Override
    public final boolean runsInline() {
        return true;
    }

    @Override
    public void close() {
    }
}
