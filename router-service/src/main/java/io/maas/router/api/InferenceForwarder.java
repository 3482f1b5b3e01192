package io.maas.router.api;

import io.maas.router.domain.RouterConfig;
import io.maas.router.domain.CanaryGuard;
import io.maas.router.domain.Endpoint;
import io.maas.router.domain.EndpointPool;
import io.maas.router.domain.ModelKey;
import io.maas.router.domain.Route;
import io.maas.router.domain.RouterState;
import io.maas.router.domain.RoutingTable;
import io.maas.router.domain.VersionChooser;
import io.maas.router.adapters.Bytes;
import io.maas.router.adapters.Payload;
import io.maas.router.adapters.RequestHeader;
import io.maas.router.adapters.RouterMetrics;
import io.maas.router.adapters.Tracing;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.grpc.BindableService;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.maas.proto.inference.GRPCInferenceServiceGrpc;
import io.maas.proto.inference.ServerLiveResponse;
import io.maas.proto.inference.ServerMetadataResponse;
import io.maas.proto.inference.ServerReadyResponse;
import io.opentelemetry.api.trace.Span;

/**
 * {@code inference.GRPCInferenceService} as a pass-through. Model-scoped calls (ModelInfer,
 * ModelMetadata, ModelReady, ModelConfig) are received as bytes; only the model name and version
 * fields are read, a version is chosen, an endpoint picked and the bytes forwarded, with the
 * chosen version appended as field 2 when the caller named none. Responses come back as bytes,
 * with {@code x-maas-model-version} and {@code x-maas-track} added to the response headers.
 * ServerLive, ServerReady and ServerMetadata describe the router itself. Repository calls are
 * not served (UNIMPLEMENTED): they belong to each inference pod.
 */
@ApplicationScoped
public class InferenceForwarder implements BindableService {

    private static final System.Logger LOG = System.getLogger(InferenceForwarder.class.getName());

    static final Metadata.Key<String> PIN = Metadata.Key.of("x-model-version", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> CANARY = Metadata.Key.of("x-maas-canary", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> ROUTING_KEY = Metadata.Key.of("x-routing-key", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> VERSION_OUT = Metadata.Key.of("x-maas-model-version", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> TRACK_OUT = Metadata.Key.of("x-maas-track", Metadata.ASCII_STRING_MARSHALLER);

    @Inject
    RoutingTable table;
    @Inject
    EndpointPool pool;
    @Inject
    RouterConfig config;
    @Inject
    RouterMetrics metrics;
    @Inject
    CanaryGuard canary;

    @Inject
    RouterState state;
    @Inject
    ShadowMirror mirror;
    @Inject
    Tracing tracing;

    @Override
    public ServerServiceDefinition bindService() {
        List<ServerMethodDefinition<?, ?>> methods = new ArrayList<>();
        for (MethodDescriptor<?, ?> m : List.of(GRPCInferenceServiceGrpc.getModelInferMethod(),
                GRPCInferenceServiceGrpc.getModelMetadataMethod(), GRPCInferenceServiceGrpc.getModelReadyMethod(),
                GRPCInferenceServiceGrpc.getModelConfigMethod())) {
            String shortName = m.getBareMethodName();
            MethodDescriptor<byte[], byte[]> server = MethodDescriptor.<byte[], byte[]> newBuilder()
                    .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName(m.getFullMethodName())
                    .setRequestMarshaller(Bytes.MARSHALLER).setResponseMarshaller(Bytes.MARSHALLER).build();
            MethodDescriptor<Payload, byte[]> client = MethodDescriptor.<Payload, byte[]> newBuilder()
                    .setType(MethodDescriptor.MethodType.UNARY).setFullMethodName(m.getFullMethodName())
                    .setRequestMarshaller(Payload.MARSHALLER).setResponseMarshaller(Bytes.MARSHALLER).build();
            methods.add(ServerMethodDefinition.create(server, new Handler(shortName, client)));
        }
        methods.add(ServerMethodDefinition.create(GRPCInferenceServiceGrpc.getServerLiveMethod(),
                ServerCalls.asyncUnaryCall((req, obs) -> reply(obs, ServerLiveResponse.newBuilder().setLive(true)
                        .build()))));
        methods.add(ServerMethodDefinition.create(GRPCInferenceServiceGrpc.getServerReadyMethod(),
                ServerCalls.asyncUnaryCall((req, obs) -> reply(obs, ServerReadyResponse.newBuilder()
                        .setReady(ready()).build()))));
        methods.add(ServerMethodDefinition.create(GRPCInferenceServiceGrpc.getServerMetadataMethod(),
                ServerCalls.asyncUnaryCall((req, obs) -> reply(obs, ServerMetadataResponse.newBuilder()
                        .setName("maas-router").setVersion(version()).build()))));
        // The .proto schema rides along so server reflection (grpcurl, helm test) can describe the service.
        ServiceDescriptor.Builder descriptor = ServiceDescriptor.newBuilder(GRPCInferenceServiceGrpc.SERVICE_NAME)
                .setSchemaDescriptor(GRPCInferenceServiceGrpc.getServiceDescriptor().getSchemaDescriptor());
        methods.forEach(m -> descriptor.addMethod(m.getMethodDescriptor()));
        var builder = ServerServiceDefinition.builder(descriptor.build());
        methods.forEach(builder::addMethod);
        return builder.build();
    }

    private boolean ready() {
        return state.ready();
    }

    private static String version() {
        String v = InferenceForwarder.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    private static <T> void reply(StreamObserver<T> obs, T value) {
        obs.onNext(value);
        obs.onCompleted();
    }

    /** One model-scoped method: a unary call handled without stubs, bytes in, bytes out. */
    private final class Handler implements ServerCallHandler<byte[], byte[]> {
        private final String method;
        private final MethodDescriptor<Payload, byte[]> client;

        Handler(String method, MethodDescriptor<Payload, byte[]> client) {
            this.method = method;
            this.client = client;
        }

        @Override
        public ServerCall.Listener<byte[]> startCall(ServerCall<byte[], byte[]> call, Metadata headers) {
            call.request(2);
            Deadline callerDeadline = Context.current().getDeadline();
            Deadline deadline = callerDeadline;
            if (deadline == null && config.balancer().defaultTimeoutMs() > 0) {
                deadline = Deadline.after(config.balancer().defaultTimeoutMs(), TimeUnit.MILLISECONDS);
            }
            return new Forward(method, client, call, headers, deadline, callerDeadline);
        }
    }

    /** The state of one forwarded call, across its attempts. */
    private final class Forward extends ServerCall.Listener<byte[]> {
        final String method;
        final MethodDescriptor<Payload, byte[]> clientMethod;
        final ServerCall<byte[], byte[]> call;
        final Metadata headers;
        final Deadline deadline;
        final Deadline callerDeadline;
        final long start = System.nanoTime();
        final Span span;
        final List<Endpoint> tried = new ArrayList<>(2);
        byte[] request;
        Payload payload;
        ModelKey key;
        String track;
        volatile ClientCall<Payload, byte[]> upstream;
        boolean headersSent;
        boolean done;
        /** The mirrored call when this one is shadowed, given the primary's response once it is in. */
        ShadowMirror.Shadow shadow;
        byte[] okResponse;

        Forward(String method, MethodDescriptor<Payload, byte[]> clientMethod, ServerCall<byte[], byte[]> call,
                Metadata headers, Deadline deadline, Deadline callerDeadline) {
            this.method = method;
            this.clientMethod = clientMethod;
            this.call = call;
            this.headers = headers;
            this.deadline = deadline;
            this.callerDeadline = callerDeadline;
            this.span = tracing.server(GRPCInferenceServiceGrpc.SERVICE_NAME, method, headers);
        }

        @Override
        public void onMessage(byte[] message) {
            if (request != null) {
                finish(Status.INTERNAL.withDescription("more than one request message on a unary call"), new Metadata());
                return;
            }
            request = message;
        }

        @Override
        public void onHalfClose() {
            if (done) {
                return;
            }
            if (request == null) {
                finish(Status.INTERNAL.withDescription("no request message"), new Metadata());
                return;
            }
            RequestHeader rh;
            try {
                rh = RequestHeader.parse(request);
            } catch (IOException | RuntimeException e) {
                finish(Status.INVALID_ARGUMENT.withDescription("request is not a valid protobuf message: " + e.getMessage()),
                        new Metadata());
                return;
            }
            if (rh.model().isEmpty()) {
                finish(Status.INVALID_ARGUMENT.withDescription("model name is required"), new Metadata());
                return;
            }
            Route route = table.route(rh.model());
            VersionChooser.Choice choice;
            try {
                choice = VersionChooser.chooseOrOnlyVersion(rh.model(), route, pool.versions(rh.model()), rh.version(),
                        headers.get(PIN), headers.get(CANARY), headers.get(ROUTING_KEY));
            } catch (VersionChooser.NoRoute e) {
                finish(Status.NOT_FOUND.withDescription(e.getMessage()), new Metadata());
                return;
            }
            key = new ModelKey(rh.model(), choice.version());
            track = choice.track();
            if ("other".equals(track)) {
                String label = pool.trackLabel(key);
                if (label != null) {
                    track = label;
                }
            }
            span.setAttribute(Tracing.MODEL, key.model());
            span.setAttribute(Tracing.VERSION, key.version());
            span.setAttribute(Tracing.TRACK, track);
            payload = new Payload(request, choice.version().equals(rh.version()) ? Payload.NO_SUFFIX
                    : RequestHeader.versionSuffix(choice.version()));
            state.callStarted();
            attempt();
            if (method.equals("ModelInfer")) {
                // after the primary is on its way; a no-op unless a shadow rule selects this call
                ShadowMirror.Shadow s = mirror.maybeMirror(rh.model(), choice.version(), route, request,
                        headers, callerDeadline);
                if (s != null) {
                    synchronized (this) {
                        if (done) {
                            s.primaryResult(okResponse);
                        } else {
                            shadow = s;
                        }
                    }
                }
            }
        }

        void attempt() {
            if (deadline != null && deadline.isExpired()) {
                finish(Status.DEADLINE_EXCEEDED.withDescription("deadline expired in the router"), new Metadata());
                return;
            }
            Endpoint endpoint = pool.pick(key, tried);
            if (endpoint == null) {
                finish(Status.UNAVAILABLE.withDescription((tried.isEmpty() ? "no available endpoint for " : "no other endpoint for ")
                        + key + (pool.endpoints(key).isEmpty() ? " (none discovered)" : "")), new Metadata());
                return;
            }
            tried.add(endpoint);
            endpoint.acquired();
            CallOptions options = CallOptions.DEFAULT.withMaxOutboundMessageSize(config.balancer().maxMessageBytes());
            if (deadline != null) {
                options = options.withDeadline(deadline);
            }
            ClientCall<Payload, byte[]> up = endpoint.channel().newCall(clientMethod, options);
            upstream = up;
            Span attemptSpan = tracing.client(span, GRPCInferenceServiceGrpc.SERVICE_NAME, method, endpoint.host(),
                    endpoint.port(), tried.size());
            Metadata upstreamHeaders = headers(headers);
            tracing.inject(attemptSpan, upstreamHeaders);
            up.start(new ClientCall.Listener<>() {
                Metadata responseHeaders;
                byte[] response;

                @Override
                public void onHeaders(Metadata h) {
                    responseHeaders = h;
                }

                @Override
                public void onMessage(byte[] message) {
                    response = message;
                }

                @Override
                public void onClose(Status status, Metadata trailers) {
                    endpoint.released();
                    Tracing.end(attemptSpan, status, false);
                    outcome(endpoint, status);
                    synchronized (Forward.this) {
                        if (done) {
                            return;
                        }
                        if (status.getCode() == Status.Code.UNAVAILABLE && response == null
                                && tried.size() < config.balancer().maxAttempts()) {
                            metrics.retry(key.model(), key.version(), track);
                            attempt();
                            return;
                        }
                        if (response != null && status.isOk()) {
                            sendHeaders(responseHeaders);
                            call.sendMessage(response);
                            okResponse = response;
                        }
                        finish(status, trailers);
                    }
                }
            }, upstreamHeaders);
            up.request(2);
            up.sendMessage(payload);
            up.halfClose();
        }

        private void outcome(Endpoint endpoint, Status status) {
            switch (status.getCode()) {
                case UNAVAILABLE, INTERNAL, UNKNOWN, DATA_LOSS -> {
                    if (pool.failure(endpoint)) {
                        metrics.ejection(key, endpoint.address());
                        LOG.log(System.Logger.Level.WARNING, "ejected {0} serving {1} after {2} consecutive failures (last: {3})",
                                endpoint, key, config.balancer().ejectAfterFailures(), status);
                    }
                }
                default -> endpoint.success();
            }
        }

        private void sendHeaders(Metadata upstreamHeaders) {
            if (headersSent) {
                return;
            }
            headersSent = true;
            Metadata out = new Metadata();
            if (upstreamHeaders != null) {
                out.merge(upstreamHeaders);
            }
            out.put(VERSION_OUT, key.version());
            out.put(TRACK_OUT, track);
            call.sendHeaders(out);
        }

        synchronized void finish(Status status, Metadata trailers) {
            if (done) {
                return;
            }
            done = true;
            if (!headersSent && key != null) {
                trailers.put(VERSION_OUT, key.version());
                trailers.put(TRACK_OUT, track);
            }
            try {
                call.close(status, trailers);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.DEBUG, "closing call failed", e);
            }
            if (key != null) {
                long nanos = System.nanoTime() - start;
                metrics.call(method, key.model(), key.version(), track, status.getCode().name(), nanos);
                if (method.equals("ModelInfer")) {
                    canary.record(key, status.getCode(), nanos);
                }
                state.callFinished();
            }
            if (shadow != null) {
                shadow.primaryResult(status.isOk() ? okResponse : null);
            }
            Tracing.end(span, status, true);
        }

        @Override
        public void onCancel() {
            synchronized (this) {
                if (done) {
                    return;
                }
            }
            ClientCall<Payload, byte[]> up = upstream;
            if (up != null) {
                up.cancel("caller cancelled", null);
            }
        }
    }

    /** Caller headers passed on: everything but gRPC's own and HTTP/2 pseudo headers, which the channel sets. */
    static Metadata headers(Metadata in) {
        Metadata out = new Metadata();
        for (String k : in.keys()) {
            if (k.startsWith("grpc-") || k.startsWith(":") || k.equals("content-type") || k.equals("te")
                    || k.equals("user-agent") || k.equals("host")) {
                continue;
            }
            if (k.endsWith(Metadata.BINARY_HEADER_SUFFIX)) {
                Metadata.Key<byte[]> bk = Metadata.Key.of(k, Metadata.BINARY_BYTE_MARSHALLER);
                for (byte[] v : in.getAll(bk)) {
                    out.put(bk, v);
                }
            } else {
                Metadata.Key<String> sk = Metadata.Key.of(k, Metadata.ASCII_STRING_MARSHALLER);
                for (String v : in.getAll(sk)) {
                    out.put(sk, v);
                }
            }
        }
        return out;
    }
}
