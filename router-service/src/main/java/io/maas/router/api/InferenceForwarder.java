package io.maas.router.api;

import io.maas.auth.Caller;
import io.maas.auth.Operation;
import io.maas.auth.Presented;
import io.maas.auth.Quotas;
import io.maas.router.adapters.Bytes;
import io.maas.router.adapters.Credentials;
import io.maas.router.adapters.GrpcStatuses;
import io.maas.router.adapters.LoopChannels;
import io.maas.router.adapters.Payload;
import io.maas.router.adapters.RequestHeader;
import io.maas.router.adapters.RouterConfig;
import io.maas.router.adapters.Tracing;
import io.maas.router.domain.CallKind;
import io.maas.router.domain.Endpoint;
import io.maas.router.domain.ForwardedCall;
import io.maas.router.domain.Forwarding;
import io.maas.router.domain.ModelKey;
import io.maas.router.domain.Outcome;
import io.maas.router.domain.RouterState;
import io.maas.router.domain.StatusCode;
import io.maas.router.domain.Target;
import io.maas.router.domain.Upstream;

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
import io.grpc.Grpc;
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
import io.maas.proto.inference.RepositoryIndexRequest;
import io.maas.proto.inference.RepositoryIndexResponse;
import io.maas.proto.inference.RepositoryModelLoadRequest;
import io.maas.proto.inference.RepositoryModelLoadResponse;
import io.maas.proto.inference.RepositoryModelUnloadRequest;
import io.maas.proto.inference.RepositoryModelUnloadResponse;
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
 * ServerLive, ServerReady and ServerMetadata describe the router itself and need no credentials
 * (probes). Every model-scoped call passes the front door first (authentication, the tenant
 * policy, quotas; see {@link Forwarding#authenticate}), and the caller's credentials are not
 * passed on to pods. RepositoryIndex lists the models the caller may see; repository load and
 * unload are admin-only and belong to each inference pod, so the router refuses them.
 */
@ApplicationScoped
public class InferenceForwarder implements BindableService {

    private static final System.Logger LOG = System.getLogger(InferenceForwarder.class.getName());

    static final Metadata.Key<String> PIN = Metadata.Key.of("x-model-version", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> CANARY = Metadata.Key.of("x-maas-canary", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> ROUTING_KEY = Metadata.Key.of("x-routing-key", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> VERSION_OUT = Metadata.Key.of("x-maas-model-version", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> TRACK_OUT = Metadata.Key.of("x-maas-track", Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of(Presented.AUTHORIZATION, Metadata.ASCII_STRING_MARSHALLER);
    static final Metadata.Key<String> API_KEY = Metadata.Key.of(Presented.API_KEY, Metadata.ASCII_STRING_MARSHALLER);

    @Inject
    Forwarding forwarding;
    @Inject
    RouterConfig config;
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
        methods.add(ServerMethodDefinition.create(GRPCInferenceServiceGrpc.getRepositoryIndexMethod(),
                new Authenticated<RepositoryIndexRequest, RepositoryIndexResponse>(Operation.METADATA) {
                    @Override
                    RepositoryIndexResponse answer(Caller caller, RepositoryIndexRequest request) {
                        var out = RepositoryIndexResponse.newBuilder();
                        for (Forwarding.Listed l : forwarding.index(caller)) {
                            if (!request.getReady() || l.served()) {
                                out.addModels(RepositoryIndexResponse.ModelIndex.newBuilder().setName(l.model())
                                        .setVersion(l.version()).setState(l.served() ? "READY" : "UNAVAILABLE")
                                        .setReason(l.served() ? "" : "no pod serving it was discovered"));
                            }
                        }
                        return out.build();
                    }
                }));
        methods.add(ServerMethodDefinition.create(GRPCInferenceServiceGrpc.getRepositoryModelLoadMethod(),
                new Authenticated<RepositoryModelLoadRequest, RepositoryModelLoadResponse>(Operation.ADMIN) {
                    @Override
                    RepositoryModelLoadResponse answer(Caller caller, RepositoryModelLoadRequest request) throws Forwarding.Refused {
                        forwarding.authorizeAdmin(caller, request.getModelName());
                        throw repositoryOnPods();
                    }
                }));
        methods.add(ServerMethodDefinition.create(GRPCInferenceServiceGrpc.getRepositoryModelUnloadMethod(),
                new Authenticated<RepositoryModelUnloadRequest, RepositoryModelUnloadResponse>(Operation.ADMIN) {
                    @Override
                    RepositoryModelUnloadResponse answer(Caller caller, RepositoryModelUnloadRequest request) throws Forwarding.Refused {
                        forwarding.authorizeAdmin(caller, request.getModelName());
                        throw repositoryOnPods();
                    }
                }));
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

    private static NotHere repositoryOnPods() {
        return new NotHere(Status.UNIMPLEMENTED.withDescription("the router does not load or unload "
                + "models: each inference pod loads its repository (deploy a version with the registry and helm, or call a "
                + "pod's RepositoryModelLoad with an admin key)"));
    }

    /** A refusal carried out of an {@link Authenticated#answer}. */
    private static final class NotHere extends RuntimeException {
        final transient Status status;

        NotHere(Status status) {
            super(status.getDescription(), null, false, false);
            this.status = status;
        }
    }

    /** Who is calling, from the call's credentials; null after refusing the call (closed here). */
    private Caller authenticate(ServerCall<?, ?> call, Metadata headers, Operation op) {
        Presented presented = Credentials.presented(headers.get(AUTHORIZATION), headers.get(API_KEY),
                call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
        try {
            return forwarding.authenticate(presented, op);
        } catch (Forwarding.Refused e) {
            call.close(GrpcStatuses.status(e.outcome()), GrpcStatuses.trailers(e));
            return null;
        }
    }

    /** A unary method the router answers itself, for an authenticated caller. */
    private abstract class Authenticated<Q, R> implements ServerCallHandler<Q, R> {
        private final Operation op;

        Authenticated(Operation op) {
            this.op = op;
        }

        abstract R answer(Caller caller, Q request) throws Forwarding.Refused;

        @Override
        public ServerCall.Listener<Q> startCall(ServerCall<Q, R> call, Metadata headers) {
            Caller caller = authenticate(call, headers, op);
            if (caller == null) {
                return new ServerCall.Listener<>() {
                };
            }
            call.request(1);
            return new ServerCall.Listener<>() {
                @Override
                public void onMessage(Q request) {
                    try {
                        R response = answer(caller, request);
                        call.sendHeaders(new Metadata());
                        call.sendMessage(response);
                        call.close(Status.OK, new Metadata());
                    } catch (Forwarding.Refused e) {
                        call.close(GrpcStatuses.status(e.outcome()), GrpcStatuses.trailers(e));
                    } catch (NotHere e) {
                        call.close(e.status, new Metadata());
                    }
                }
            };
        }
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
        private final CallKind kind;
        private final Operation op;
        private final MethodDescriptor<Payload, byte[]> client;

        Handler(String method, MethodDescriptor<Payload, byte[]> client) {
            this.method = method;
            this.kind = CallKind.primary(method, method.equals("ModelInfer"));
            this.op = kind.infer() ? Operation.INFER : Operation.METADATA;
            this.client = client;
        }

        @Override
        public ServerCall.Listener<byte[]> startCall(ServerCall<byte[], byte[]> call, Metadata headers) {
            int size = metadataSize(headers);
            if (size > MAX_FORWARDED_METADATA) {
                // refused here with a clear word rather than forwarded to a pod whose HTTP/2 limit
                // (8 KiB) would reset the stream, which the router would then count against the pod
                call.close(Status.RESOURCE_EXHAUSTED.withDescription("request metadata is " + size
                        + " bytes, over the " + MAX_FORWARDED_METADATA + "-byte limit (names + values + 32 per entry): "
                        + "send less metadata"), new Metadata());
                return new ServerCall.Listener<>() {
                };
            }
            Caller caller = authenticate(call, headers, op);
            if (caller == null) {
                return new ServerCall.Listener<>() {
                };
            }
            call.request(2);
            return new Forward(method, kind, op, caller, client, call, headers, Context.current().getDeadline());
        }
    }

    /** The gRPC transport of one call: reads it, sends the attempts the pipeline asks for, answers. */
    private final class Forward extends ServerCall.Listener<byte[]> implements Upstream {
        final String method;
        final CallKind kind;
        final Operation op;
        final Caller caller;
        final MethodDescriptor<Payload, byte[]> clientMethod;
        final ServerCall<byte[], byte[]> call;
        final Metadata headers;
        final Deadline callerDeadline;
        final Span span;
        byte[] request;
        Payload payload;
        Target target;
        Deadline deadline;
        ForwardedCall forwarded;
        volatile ClientCall<Payload, byte[]> upstream;
        Metadata responseHeaders;
        byte[] response;
        Metadata responseTrailers;
        boolean done;
        /** The mirrored call when this one is shadowed, given the primary's response once it is in. */
        ShadowMirror.Shadow shadow;

        Forward(String method, CallKind kind, Operation op, Caller caller, MethodDescriptor<Payload, byte[]> clientMethod,
                ServerCall<byte[], byte[]> call, Metadata headers, Deadline callerDeadline) {
            this.method = method;
            this.kind = kind;
            this.op = op;
            this.caller = caller;
            this.clientMethod = clientMethod;
            this.call = call;
            this.headers = headers;
            this.callerDeadline = callerDeadline;
            this.span = tracing.server(GRPCInferenceServiceGrpc.SERVICE_NAME, method, headers);
            span.setAttribute(Tracing.TENANT, caller.tenant());
        }

        @Override
        public void onMessage(byte[] message) {
            if (request != null) {
                refuse(Status.INVALID_ARGUMENT.withDescription("more than one request message on a unary call"));
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
                refuse(Status.INVALID_ARGUMENT.withDescription("no request message"));
                return;
            }
            RequestHeader rh;
            try {
                rh = RequestHeader.parse(request);
            } catch (IOException | RuntimeException e) {
                refuse(Status.INVALID_ARGUMENT.withDescription("request is not a valid protobuf message: " + e.getMessage()));
                return;
            }
            Quotas.Permit permit;
            try {
                target = forwarding.target(caller, op, rh.model(), rh.version(), headers.get(PIN), headers.get(CANARY),
                        headers.get(ROUTING_KEY));
                permit = forwarding.admit(caller, op, target);
            } catch (Forwarding.Refused e) {
                refuse(GrpcStatuses.status(e.outcome()), GrpcStatuses.trailers(e));
                return;
            }
            ModelKey key = target.key();
            span.setAttribute(Tracing.MODEL, key.model());
            span.setAttribute(Tracing.VERSION, key.version());
            span.setAttribute(Tracing.TRACK, target.track());
            payload = new Payload(request, key.version().equals(rh.version()) ? Payload.NO_SUFFIX
                    : RequestHeader.versionSuffix(key.version()));
            long deadlineNanos;
            if (callerDeadline != null) {
                deadline = callerDeadline;
                deadlineNanos = System.nanoTime() + callerDeadline.timeRemaining(TimeUnit.NANOSECONDS);
            } else {
                deadlineNanos = forwarding.defaultDeadlineNanos();
                deadline = deadlineNanos == 0 ? null
                        : Deadline.after(deadlineNanos - System.nanoTime(), TimeUnit.NANOSECONDS);
            }
            forwarded = forwarding.start(kind, target, caller, permit, this, deadlineNanos, callerDeadline != null);
            if (kind.infer()) {
                // after the primary is on its way; a no-op unless a shadow rule selects this call
                ShadowMirror.Shadow s = mirror.maybeMirror(key.model(), key.version(), target.route(), request,
                        headers, callerDeadline);
                if (s != null) {
                    synchronized (this) {
                        if (done) {
                            s.primaryResult(response);
                        } else {
                            shadow = s;
                        }
                    }
                }
            }
        }

        @Override
        public void send(ForwardedCall forwardedCall, Endpoint endpoint, int attempt) {
            Target t = forwardedCall.target();
            if (t != target) {
                // the canary failed and stable answers: the request names stable's version
                target = t;
                payload = new Payload(request, RequestHeader.versionSuffix(t.key().version()));
            }
            CallOptions options = CallOptions.DEFAULT.withMaxOutboundMessageSize(config.balancer().maxMessageBytes());
            if (deadline != null) {
                options = options.withDeadline(deadline);
            }
            ClientCall<Payload, byte[]> up = ((LoopChannels) endpoint.connections()).current().newCall(clientMethod, options);
            upstream = up;
            Span attemptSpan = tracing.client(span, GRPCInferenceServiceGrpc.SERVICE_NAME, method, endpoint.host(),
                    endpoint.port(), attempt);
            Metadata upstreamHeaders = headers(headers);
            tracing.inject(attemptSpan, upstreamHeaders);
            up.start(new ClientCall.Listener<>() {
                Metadata h;
                byte[] message;

                @Override
                public void onHeaders(Metadata h) {
                    this.h = h;
                }

                @Override
                public void onMessage(byte[] message) {
                    this.message = message;
                }

                @Override
                public void onClose(Status status, Metadata trailers) {
                    Tracing.end(attemptSpan, status, false);
                    if (status.isOk() && message != null) {
                        synchronized (Forward.this) {
                            responseHeaders = h;
                            response = message;
                        }
                    }
                    responseTrailers = trailers;
                    forwardedCall.attemptDone(endpoint, GrpcStatuses.outcome(status, h != null || message != null));
                }
            }, upstreamHeaders);
            up.request(2);
            up.sendMessage(payload);
            up.halfClose();
        }

        @Override
        public void finish(Outcome outcome) {
            Status status = GrpcStatuses.status(outcome);
            Metadata trailers = responseTrailers != null && outcome.code() != StatusCode.DEADLINE_EXCEEDED
                    ? responseTrailers : new Metadata();
            ShadowMirror.Shadow s;
            synchronized (this) {
                if (done) {
                    return;
                }
                done = true;
                s = shadow;
                if (outcome.ok() && response != null) {
                    sendHeaders(responseHeaders);
                    call.sendMessage(response);
                } else {
                    response = null;
                }
                close(status, trailers);
            }
            if (s != null) {
                s.primaryResult(response);
            }
            Tracing.end(span, status, true);
        }

        /** Refused before forwarding: answered here, never counted against a version. */
        private void refuse(Status status) {
            refuse(status, new Metadata());
        }

        private void refuse(Status status, Metadata trailers) {
            synchronized (this) {
                if (done) {
                    return;
                }
                done = true;
                close(status, trailers);
            }
            Tracing.end(span, status, true);
        }

        private void sendHeaders(Metadata upstreamHeaders) {
            Metadata out = new Metadata();
            if (upstreamHeaders != null) {
                out.merge(upstreamHeaders);
            }
            out.put(VERSION_OUT, target.key().version());
            out.put(TRACK_OUT, target.track());
            call.sendHeaders(out);
        }

        private void close(Status status, Metadata trailers) {
            if (target != null && !(status.isOk() && response != null)) {
                trailers.put(VERSION_OUT, target.key().version());
                trailers.put(TRACK_OUT, target.track());
            }
            try {
                call.close(status, trailers);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.DEBUG, "closing call failed", e);
            }
        }

        @Override
        public void onCancel() {
            synchronized (this) {
                if (done) {
                    return;
                }
            }
            ForwardedCall f = forwarded;
            if (f != null) {
                f.cancel();
            }
            ClientCall<Payload, byte[]> up = upstream;
            if (up != null) {
                up.cancel("caller cancelled", null);
            }
        }
    }

    /**
     * Largest caller metadata forwarded, counted as HTTP/2 does (name + value + 32 bytes per entry):
     * the pods' gRPC servers take 8 KiB of headers, and the router adds its own and the pseudo-headers.
     * The router's own transport accepts up to {@link #MAX_INBOUND_METADATA}, so anything between
     * gets this clear refusal; beyond that HTTP/2 resets the one stream (the connection stays).
     */
    static final int MAX_FORWARDED_METADATA = 7 * 1024;
    static final int MAX_INBOUND_METADATA = 16 * 1024;

    static int metadataSize(Metadata md) {
        int size = 0;
        for (String k : md.keys()) {
            if (k.endsWith(Metadata.BINARY_HEADER_SUFFIX)) {
                for (byte[] v : md.getAll(Metadata.Key.of(k, Metadata.BINARY_BYTE_MARSHALLER))) {
                    size += k.length() + (v.length + 2) / 3 * 4 + 32;
                }
            } else {
                for (String v : md.getAll(Metadata.Key.of(k, Metadata.ASCII_STRING_MARSHALLER))) {
                    size += k.length() + v.length() + 32;
                }
            }
        }
        return size;
    }

    /** Caller headers passed on: everything but gRPC's own and HTTP/2 pseudo headers, which the channel sets. */
    static Metadata headers(Metadata in) {
        Metadata out = new Metadata();
        for (String k : in.keys()) {
            if (k.startsWith("grpc-") || k.startsWith(":") || k.equals("content-type") || k.equals("te")
                    || k.equals("user-agent") || k.equals("host") || Credentials.isCredential(k)) {
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
