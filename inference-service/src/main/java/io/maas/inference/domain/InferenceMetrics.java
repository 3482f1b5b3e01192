package io.maas.inference.domain;

/** What the serving path reports; implemented by the metrics adapter. */
public interface InferenceMetrics {

    void succeeded(String model, String version, long queueNanos, long computeNanos);

    void failed(String model, String version, InferenceException.Kind kind);

    void batchRan(String model, String version, int requests, long rows);

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
    };
}
