package io.maas.inference.domain;

/** What the serving path reports; implemented by the metrics adapter. */
public interface InferenceMetrics {

    void succeeded(String model, String version, long queueNanos, long computeNanos);

    void failed(String model, String version, InferenceException.Kind kind);

    void batchRan(String model, String version, int requests, long rows);

    /** A joined batch failed because of a caller's input and is split in two to be re-run. */
    void batchSplit(String model, String version);

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
