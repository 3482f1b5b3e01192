package io.maas.inference.adapters.tracing;

import io.maas.inference.domain.InferenceException;
import io.maas.inference.domain.InferenceTracing;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;

/**
 * Queue and compute spans under the request's server span (made by Quarkus for both gRPC and REST).
 * Child spans rather than span events: trace viewers draw spans as bars, so the queue wait and the
 * run read as durations at a glance, and the compute span can carry its batch's attributes.
 * A batch of N requests runs once but shows as one compute span in each of the N traces, each with
 * {@code maas.batch.size} = N. Nothing is allocated unless the server span is recording.
 */
public final class OtelInferenceTracing implements InferenceTracing {
    static final AttributeKey<String> MODEL = AttributeKey.stringKey("maas.model");
    static final AttributeKey<String> VERSION = AttributeKey.stringKey("maas.model.version");
    static final AttributeKey<Long> BATCH_SIZE = AttributeKey.longKey("maas.batch.size");
    static final AttributeKey<Long> BATCH_ROWS = AttributeKey.longKey("maas.batch.rows");

    private final Tracer tracer;

    public OtelInferenceTracing(OpenTelemetry openTelemetry) {
        this.tracer = openTelemetry.getTracer("io.maas.inference");
    }

    @Override
    public RequestTrace begin(String model, String version) {
        Context parent = Context.current();
        Span server = Span.fromContext(parent);
        if (!server.isRecording()) {
            return RequestTrace.NONE;
        }
        // The server span only knows the method; the model and the resolved version are known here.
        server.setAttribute(MODEL, model);
        server.setAttribute(VERSION, version);
        Span queue = tracer.spanBuilder("queue").setParent(parent)
                .setAttribute(MODEL, model).setAttribute(VERSION, version).startSpan();
        return new Recording(parent, queue, model, version);
    }

    /** Handed from the submitting thread to a worker through the scheduler's queue (happens-before). */
    private final class Recording implements RequestTrace {
        private final Context parent;
        private final String model;
        private final String version;
        private Span open;

        Recording(Context parent, Span queue, String model, String version) {
            this.parent = parent;
            this.open = queue;
            this.model = model;
            this.version = version;
        }

        @Override
        public void running(int requests, long rows) {
            open.end();
            open = tracer.spanBuilder("compute").setParent(parent)
                    .setAttribute(MODEL, model).setAttribute(VERSION, version)
                    .setAttribute(BATCH_SIZE, (long) requests).setAttribute(BATCH_ROWS, rows).startSpan();
        }

        @Override
        public void ran() {
            open.end();
            open = null;
        }

        /**
         * Ends the phase the request failed in, as an error with the reason (queue full, deadline passed
         * in the queue, failed run), except when the caller went away. A failure after the run
         * (splitting outputs) shows on the server span, through the call's status.
         */
        @Override
        public void failed(InferenceException.Kind kind, String message) {
            if (open == null) {
                return;
            }
            if (kind != InferenceException.Kind.CANCELLED) {
                open.setStatus(StatusCode.ERROR, kind + ": " + message);
            }
            open.end();
            open = null;
        }
    }
}
