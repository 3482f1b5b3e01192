package io.maas.inference.domain;

/**
 * Where a request's time goes inside the pod (queue wait, then the model run it shared with its
 * batch), reported to the tracing adapter. {@link #begin} runs on the submitting thread, where the
 * caller's server span is current; the scheduler's worker then reports on the returned handle.
 * Both {@code NONE}s do nothing and allocate nothing, which is what the hot path costs with tracing off.
 */
public interface InferenceTracing {

    /** The request enters the queue of {@code model} {@code version}. */
    RequestTrace begin(String model, String version);

    /**
     * One request's phases, in this order, from one thread at a time; each at most once, except
     * {@link #running}, called again when a joined batch failed because of a batch mate's input and
     * the request is re-run in a smaller batch.
     */
    interface RequestTrace {
        /** The request runs now in a batch of {@code requests} requests, {@code rows} rows. */
        void running(int requests, long rows);

        /** The model run ended; the outputs are being handed back. */
        void ran();

        /** The request failed: refused or dropped while queued, or its run failed. */
        void failed(InferenceException.Kind kind, String message);

        RequestTrace NONE = new RequestTrace() {
            @Override
            public void running(int requests, long rows) {
            }

            @Override
            public void ran() {
            }

            @Override
            public void failed(InferenceException.Kind kind, String message) {
            }
        };
    }

    InferenceTracing NONE = (model, version) -> RequestTrace.NONE;
}
