package io.maas.router.api;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.grpc.ManagedChannel;
import io.quarkus.arc.ClientProxy;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.maas.auth.Caller;
import io.maas.auth.Operation;
import io.maas.auth.Presented;
import io.maas.auth.RequestBudget;
import io.maas.proto.inference.GRPCInferenceServiceGrpc;
import io.maas.router.adapters.CallerHeaders;
import io.maas.router.adapters.Credentials;
import io.maas.router.adapters.GrpcStatuses;
import io.maas.router.adapters.GrpcTransport;
import io.maas.router.adapters.RouterConfig;
import io.maas.router.adapters.RouterMetrics;
import io.maas.router.adapters.RouterTls;
import io.maas.router.adapters.Tracing;
import io.maas.router.domain.CallKind;
import io.maas.router.domain.Forwarding;
import io.maas.router.domain.RouterState;
import io.maas.router.domain.StatusCode;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;

/**
 * The router's gRPC port, a frame-level HTTP/2 proxy on Netty sharing the upstream connections'
 * event loops: a forwarded call is read, sent to a pod and answered on one thread, and its
 * messages are never decoded beyond the model name and version ({@link ForwardedStream}). The
 * router's own methods are answered here ({@link OwnStream}); grpc.health.v1 and server reflection
 * (so grpcurl needs no .proto files) run on an in-process grpc-java server the port relays to
 * ({@link RelayStream}). Every model-scoped call passes the front door first (authentication, the
 * tenant policy, quotas; see {@link Forwarding#authenticate}), and the caller's credentials are
 * not passed on to pods.
 */
@ApplicationScoped
public class DataPlaneServer {
    private static final System.Logger LOG = System.getLogger(DataPlaneServer.class.getName());

    static final String SERVICE = GRPCInferenceServiceGrpc.SERVICE_NAME;
    private static final String PREFIX = "/" + SERVICE + "/";

    /**
     * Largest caller metadata forwarded, counted as HTTP/2 does (name + value + 32 bytes per entry):
     * the pods' gRPC servers take 8 KiB of headers, and the router adds its own and the pseudo-headers.
     * The port accepts up to {@link GrpcTransport#MAX_HEADER_LIST_SIZE}, so anything between gets this
     * clear refusal; beyond that HTTP/2 resets the one stream (the connection stays).
     */
    static final int MAX_FORWARDED_METADATA = 7 * 1024;

    @Inject
    RouterConfig config;
    @Inject
    GrpcTransport transport;
    @Inject
    RouterState state;
    @Inject
    RouterTls tls;
    @Inject
    Forwarding forwarding;
    @Inject
    ShadowMirror mirror;
    @Inject
    Tracing tracing;

    private final HealthStatusManager health = new HealthStatusManager();
    private final ScheduledExecutorService healthUpdates = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "router-health");
        t.setDaemon(true);
        return t;
    });
    private Server local;
    private ManagedChannel localChannel;
    private Channel channel;
    @Inject
    RouterMetrics metrics;
    private int maxMessageBytes;
    private RequestBudget requestBudget;

    void start() {
        maxMessageBytes = config.balancer().maxMessageBytes();
        requestBudget = metrics.requestBudget(new RequestBudget(config.balancer().maxRequestBytesInFlight()));
        unreadAnswers = new UnreadAnswers(config.balancer().maxAnswerBytesWaiting(), metrics::answerRefused, metrics::answerEvicted);
        metrics.answersWaiting(unreadAnswers::total);
        // the beans themselves, not their CDI client proxies: every call uses them on the event loop
        forwarding = ClientProxy.unwrap(forwarding);
        mirror = ClientProxy.unwrap(mirror);
        tracing = ClientProxy.unwrap(tracing);
        state = ClientProxy.unwrap(state);
        String name = "maas-router-" + UUID.randomUUID();
        try {
            // the inference service's schema rides along so reflection can describe it; its calls never get here
            local = InProcessServerBuilder.forName(name).directExecutor()
                    .addService(health.getHealthService())
                    .addService(ProtoReflectionServiceV1.newInstance())
                    .addService(new GRPCInferenceServiceGrpc.GRPCInferenceServiceImplBase() {
                    })
                    .build().start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        localChannel = InProcessChannelBuilder.forName(name).directExecutor().build();
        ServerBootstrap b = new ServerBootstrap().group(transport.boss(), transport.workers())
                .channel(transport.serverChannelType())
                .option(ChannelOption.ALLOCATOR, transport.allocator())
                .childOption(ChannelOption.ALLOCATOR, transport.allocator())
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        tls.server().ifPresent(ssl -> ch.pipeline().addLast(ssl.newHandler(ch.alloc())));
                        ch.pipeline().addLast(FrontConnection.create(DataPlaneServer.this, DataPlaneServer.this::open));
                    }
                });
        try {
            channel = b.bind(new InetSocketAddress(config.server().host(), config.server().grpcPort())).sync().channel();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while binding the gRPC port", e);
        } catch (RuntimeException e) {
            throw new IllegalStateException("cannot listen on gRPC port " + config.server().grpcPort() + ": " + e.getMessage(), e);
        }
        updateHealth();
        // Readiness follows the routing table and draining; probes read it from here.
        healthUpdates.scheduleWithFixedDelay(this::updateHealth, 200, 200, TimeUnit.MILLISECONDS);
        LOG.log(System.Logger.Level.INFO, "router gRPC listening on {0}:{1} ({2})", config.server().host(),
                String.valueOf(port()), tls.server().isPresent() ? "TLS" : "plaintext");
    }

    /** The port actually bound (the configured one, or the kernel's choice for 0). */
    public int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    int maxMessageBytes() {
        return maxMessageBytes;
    }

    /** Request bytes held by every caller's calls (see {@link FrontConnection.Call#data}); public for tests. */
    public RequestBudget requestBudget() {
        return requestBudget;
    }

    void overBudget() {
        metrics.overBudget();
    }

    private UnreadAnswers unreadAnswers;

    /** The bound on answers callers leave unread, gRPC's and the REST twin's. */
    UnreadAnswers unreadAnswers() {
        return unreadAnswers;
    }

    /** Answer bytes held for callers that have not read them, over every connection; public for tests. */
    public long answersWaiting() {
        return unreadAnswers.total();
    }

    /** The {@link FrontConnection.Call} for a new stream, by its path; null after refusing it. */
    private FrontConnection.Call open(FrontConnection conn, int id, Http2Headers headers) {
        CharSequence path = headers.path();
        CallKind kind = path == null ? null : FORWARDED.get(AsciiString.of(path));
        if (kind != null) {
            int size = CallerHeaders.size(headers);
            if (size > MAX_FORWARDED_METADATA) {
                // refused here with a clear word rather than forwarded to a pod whose HTTP/2 limit
                // (8 KiB) would reset the stream, which the router would then count against the pod
                return refused(conn, id, headers, StatusCode.RESOURCE_EXHAUSTED, "request metadata is " + size
                        + " bytes, over the " + MAX_FORWARDED_METADATA + "-byte limit (names + values + 32 per entry): "
                        + "send less metadata", null);
            }
            Operation op = kind.infer() ? Operation.INFER : Operation.METADATA;
            try {
                return new ForwardedStream(conn, id, headers, this, kind, op, authenticate(conn, headers, op));
            } catch (Forwarding.Refused e) {
                return refused(conn, id, headers, e.outcome().code(), e.outcome().message(), retryHint(e));
            }
        }
        String p = path == null ? "" : path.toString();
        OwnStream.Method own = p.startsWith(PREFIX) ? OwnStream.of(p.substring(PREFIX.length())) : null;
        if (own == null) {
            return new RelayStream(conn, id, headers, localChannel);
        }
        Operation op = OwnStream.operation(own);
        try {
            Caller caller = op == null ? null : authenticate(conn, headers, op);
            return new OwnStream(conn, id, headers, this, own, caller);
        } catch (Forwarding.Refused e) {
            return refused(conn, id, headers, e.outcome().code(), e.outcome().message(), retryHint(e));
        }
    }

    /** The forwarded methods by path (Netty's decoded headers are AsciiStrings: no String per call). */
    private static final java.util.Map<AsciiString, CallKind> FORWARDED = java.util.Map.of(
            AsciiString.of(PREFIX + "ModelInfer"), CallKind.primary("ModelInfer", true),
            AsciiString.of(PREFIX + "ModelMetadata"), CallKind.primary("ModelMetadata", false),
            AsciiString.of(PREFIX + "ModelReady"), CallKind.primary("ModelReady", false),
            AsciiString.of(PREFIX + "ModelConfig"), CallKind.primary("ModelConfig", false));

    /** A stream answered at once; the rest of its request is read and dropped. */
    private static FrontConnection.Call refused(FrontConnection conn, int id, Http2Headers headers, StatusCode code,
            String message, Http2Headers extra) {
        FrontConnection.Call c = new FrontConnection.Call(conn, id, headers) {
            @Override
            void data(io.netty.buffer.ByteBuf data, boolean endStream) {
            }

            @Override
            void end() {
            }

            @Override
            void cancelled() {
            }
        };
        c.answer(code, message, extra);
        return c;
    }

    /** Who is calling, from the call's credentials and its connection's verified client certificate. */
    private Caller authenticate(FrontConnection conn, Http2Headers headers, Operation op) throws Forwarding.Refused {
        CharSequence authorization = headers.get(ForwardedStream.AUTHORIZATION);
        CharSequence apiKey = headers.get(ForwardedStream.API_KEY);
        Presented presented = Credentials.presented(authorization == null ? null : authorization.toString(),
                apiKey == null ? null : apiKey.toString(), conn.session());
        return forwarding.authenticate(presented, op);
    }

    /** The trailers of a quota refusal: when to retry (gRPC's retry pushback); null when none. */
    static Http2Headers retryHint(Forwarding.Refused e) {
        if (e.retryAfterMillis() <= 0) {
            return null;
        }
        return new DefaultHttp2Headers(false).add(GrpcStatuses.RETRY_PUSHBACK.name(), Long.toString(e.retryAfterMillis()));
    }

    private void updateHealth() {
        ServingStatus status = state.ready() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
        health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, status);
        health.setStatus(GRPCInferenceServiceGrpc.SERVICE_NAME, status);
    }

    /** Stops accepting calls; calls in flight were drained by the caller. */
    void stop() {
        healthUpdates.shutdownNow();
        health.enterTerminalState();
        if (channel != null) {
            channel.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        if (localChannel != null) {
            localChannel.shutdownNow();
        }
        if (local != null) {
            local.shutdownNow();
        }
    }
}
