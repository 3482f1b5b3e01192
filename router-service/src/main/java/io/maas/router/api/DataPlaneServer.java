package io.maas.router.api;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.maas.proto.inference.GRPCInferenceServiceGrpc;
import io.maas.router.adapters.GrpcTransport;
import io.maas.router.adapters.RouterConfig;
import io.maas.router.adapters.RouterTls;
import io.maas.router.domain.RouterState;
import io.netty.channel.ChannelOption;

/**
 * The router's gRPC port: the forwarding {@link InferenceForwarder}, grpc.health.v1 and server
 * reflection (so grpcurl needs no .proto files), on
 * grpc-java's Netty server. Quarkus' gRPC server is not used here because it runs calls on
 * Vert.x event loops separate from the upstream channels' loops, which cost a thread hand-off in
 * each direction of every forwarded call; this server shares the upstream channels' loops.
 */
@ApplicationScoped
public class DataPlaneServer {
    private static final System.Logger LOG = System.getLogger(DataPlaneServer.class.getName());

    @Inject
    RouterConfig config;
    @Inject
    GrpcTransport transport;
    @Inject
    InferenceForwarder forwarder;
    @Inject
    RouterState state;
    @Inject
    RouterTls tls;

    private final HealthStatusManager health = new HealthStatusManager();
    private final ScheduledExecutorService healthUpdates = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "router-health");
        t.setDaemon(true);
        return t;
    });
    private Server server;

    void start() {
        NettyServerBuilder builder = NettyServerBuilder.forAddress(new InetSocketAddress(config.server().host(), config.server().grpcPort()))
                .bossEventLoopGroup(transport.boss())
                .workerEventLoopGroup(transport.workers())
                .channelType(transport.serverChannelType())
                .withOption(ChannelOption.ALLOCATOR, transport.allocator())
                .withChildOption(ChannelOption.ALLOCATOR, transport.allocator())
                .flowControlWindow(GrpcTransport.FLOW_CONTROL_WINDOW)
                .directExecutor()
                .maxInboundMessageSize(config.balancer().maxMessageBytes())
                .maxInboundMetadataSize(InferenceForwarder.MAX_INBOUND_METADATA)
                .addService(forwarder)
                .addService(health.getHealthService())
                .addService(ProtoReflectionServiceV1.newInstance());
        // TLS (and client certificates): RouterTls; the verified session is each call's TRANSPORT_ATTR_SSL_SESSION.
        tls.server().ifPresent(builder::sslContext);
        server = builder.build();
        try {
            server.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot listen on gRPC port " + config.server().grpcPort(), e);
        }
        updateHealth();
        // Readiness follows the routing table and draining; probes read it from here.
        healthUpdates.scheduleWithFixedDelay(this::updateHealth, 200, 200, TimeUnit.MILLISECONDS);
        LOG.log(System.Logger.Level.INFO, "router gRPC listening on {0}:{1} ({2})", config.server().host(),
                String.valueOf(server.getPort()), tls.server().isPresent() ? "TLS" : "plaintext");
    }

    /** The port actually bound (the configured one, or the kernel's choice for 0). */
    public int port() {
        return server.getPort();
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
        if (server != null) {
            server.shutdown();
            try {
                server.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            server.shutdownNow();
        }
    }
}
