package io.maas.router.adapters;

import java.util.concurrent.TimeUnit;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.nio.NioSocketChannel;

/**
 * The Netty event loops shared by the router's data-plane server and its upstream channels.
 * Sharing them (with direct executors on both sides) keeps a forwarded call on the thread that
 * read it: no hand-off between a server pool and a client pool on the hot path.
 */
@ApplicationScoped
public class GrpcTransport {
    private final EventLoopGroup boss = new NioEventLoopGroup(1);
    private final EventLoopGroup workers = new NioEventLoopGroup(Runtime.getRuntime().availableProcessors());

    public EventLoopGroup boss() {
        return boss;
    }

    public EventLoopGroup workers() {
        return workers;
    }

    /** A plaintext HTTP/2 channel to one inference pod on the shared event loops. */
    public ManagedChannel channel(String host, int port, int maxMessageBytes) {
        return NettyChannelBuilder.forAddress(host, port)
                .eventLoopGroup(workers)
                .channelType(NioSocketChannel.class)
                .usePlaintext()
                .directExecutor()
                .maxInboundMessageSize(maxMessageBytes)
                .keepAliveTime(30, TimeUnit.SECONDS)
                .build();
    }

    @PreDestroy
    void close() {
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS);
    }
}
