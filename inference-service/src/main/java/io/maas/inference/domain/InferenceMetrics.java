package io.maas.inference.domain;

/** What the serving path reports; implemented by the metrics adapter. */
public interface InferenceMetrics {

    void succeeded(String model, String version, long queueNanos, long computeNanos);

    void failed(String model, String version, InferenceException.Kind kind);

    void batchRan(String model, String version, int requests, long rows);

    /** A joined batch failed because of a caller's input and is split in two to be re-run. */
    void batchSplit(String model, String version);

    /**
     * CPU time one call of a step that runs on the caller's thread spent in the step itself (thread CPU
     * time, so a loaded machine does not inflate it as it does the compute time).
     */
    default void stepCpu(String model, String version, long cpuNanos) {
    }

    InferenceMetrics NONE = new InferenceMetrics() {
        @Override
        public void succeeded(String model, String version, long queueNanos, long computeNanos) {
        }

        @Override
        public void failed(String model, String version, InferenceException.Kind kind) {
        }

        @Override
        public void batchRan(String model, String version, int requests, long rows) {
        }

        @Override
        public void batchSplit(String model, String version) {
        }
    };
}
