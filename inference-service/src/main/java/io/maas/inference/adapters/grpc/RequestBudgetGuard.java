package io.maas.inference.adapters.grpc;

import io.grpc.Context;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerStreamTracer;
import io.grpc.Status;
import io.maas.auth.RequestBudget;

/**
 * Holds gRPC calls to the pod's {@link RequestBudget}. grpc-java gathers a whole message before any
 * interceptor sees it, so the count sits where grpc-java reports bytes as it reads them: a stream
 * tracer. The tracer cannot end its call; the interceptor hands it the call as it starts, before
 * grpc-java reads any of its message. A call whose bytes would pass the limit is closed with
 * RESOURCE_EXHAUSTED while it is still being read: grpc-java drops what it gathered and the rest of
 * the stream, and the connection and its other calls go on. Register both: the factory on the
 * server builder, the interceptor globally.
 */
public final class RequestBudgetGuard extends ServerStreamTracer.Factory {
    private static final Context.Key<Stream> STREAM = Context.key("maas-request-budget");

    private final RequestBudget budget;
    private final Runnable refused;

    /** {@code refused} runs once per refused call (a metric). */
    public RequestBudgetGuard(RequestBudget budget, Runnable refused) {
        this.budget = budget;
        this.refused = refused;
    }

    @Override
    public ServerStreamTracer newServerStreamTracer(String fullMethodName, Metadata headers) {
        return new Stream(budget.request());
    }

    /** What the server's interceptor does with every call (the api layer registers it). */
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                       ServerCallHandler<Q, R> next) {
        Stream stream = STREAM.get();
        if (stream == null) {
            return next.startCall(call, headers);
        }
        stream.call = call;
        // A refusal can come with the message's last bytes, which grpc-java then still delivers: the
        // service must not run a call that is already answered.
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(call, headers)) {
            @Override
            public void onMessage(Q message) {
                if (!stream.closing) {
                    super.onMessage(message);
                }
            }

            @Override
            public void onHalfClose() {
                if (!stream.closing) {
                    super.onHalfClose();
                }
            }
        };
    }

    /** One call's count. grpc-java calls a stream's tracer from its transport thread. */
    private final class Stream extends ServerStreamTracer {
        private final RequestBudget.Request request;
        volatile ServerCall<?, ?> call;
        /** Refused: the call is being closed, its bytes go back when the stream ends. */
        volatile boolean closing;

        Stream(RequestBudget.Request request) {
            this.request = request;
        }

        @Override
        public Context filterContext(Context context) {
            return context.withValue(STREAM, this);
        }

        @Override
        public void inboundWireSize(long bytes) {
            if (closing || request.arrived(bytes)) {
                return;
            }
            closing = true;
            ServerCall<?, ?> c = call;
            if (c != null) {
                refused.run();
                c.close(Status.RESOURCE_EXHAUSTED.withDescription(request.refusal("the pod")), new Metadata());
            }
        }

        @Override
        public void inboundMessageRead(int seqNo, long optionalWireSize, long optionalUncompressedSize) {
            request.read();
        }

        @Override
        public void streamClosed(Status status) {
            request.ended();
        }
    }
}
