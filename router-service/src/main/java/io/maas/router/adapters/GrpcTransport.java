package io.maas.router.adapters;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import jakarta.annotation.PostConstruct;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.maas.router.domain.Connections;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Connection;
import io.netty.handler.codec.http2.DefaultHttp2RemoteFlowController;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.UniformStreamByteDistributor;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.FastThreadLocal;

/**
 * The Netty event loops shared by the router's data-plane server and its upstream channels, on
 * native epoll where the platform has it (NIO otherwise). Each loop has its own connection to
 * each pod ({@link LoopChannels}), and server and channels use direct executors, so a forwarded
 * call stays on the loop thread that read it: no hand-off between threads in either direction.
 */
@ApplicationScoped
public class GrpcTransport implements Connections.Factory {
    private static final System.Logger LOG = System.getLogger(GrpcTransport.class.getName());

    /** The index of the worker loop running on this thread, or null off the loops. */
    private static final FastThreadLocal<Integer> LOOP_INDEX = new FastThreadLocal<>();

    @Inject
    RouterConfig config;
    @Inject
    RouterTls tls;

    private final boolean epoll = Epoll.isAvailable();
    /**
     * The data plane's buffers: pooled direct memory in 2 MiB chunks (grpc-java's own choice).
     * Quarkus sets {@code io.netty.allocator.maxOrder=3} for the whole JVM (64 KiB chunks), under
     * which every buffer above 64 KiB (a MiniLM response is 196 KB) was a fresh, zeroed, unpooled
     * direct allocation, freed again after the write: most of the router's CPU on large messages.
     */
    private final ByteBufAllocator allocator = new PooledByteBufAllocator(true,
            PooledByteBufAllocator.defaultNumHeapArena(), PooledByteBufAllocator.defaultNumDirectArena(),
            PooledByteBufAllocator.defaultPageSize(), 8, PooledByteBufAllocator.defaultSmallCacheSize(),
            PooledByteBufAllocator.defaultNormalCacheSize(), PooledByteBufAllocator.defaultUseCacheForAllThreads());
    private EventLoopGroup boss;
    private EventLoopGroup workers;
    private final List<EventLoop> loops = new ArrayList<>();

    @PostConstruct
    void start() {
        int threads = Runtime.getRuntime().availableProcessors();
        boss = epoll ? new EpollEventLoopGroup(1) : new NioEventLoopGroup(1);
        workers = epoll ? new EpollEventLoopGroup(threads) : new NioEventLoopGroup(threads);
        for (EventExecutor e : workers) {
            EventLoop loop = (EventLoop) e;
            int index = loops.size();
            loops.add(loop);
            loop.submit(() -> LOOP_INDEX.set(index)).syncUninterruptibly();
        }
        LOG.log(System.Logger.Level.INFO, "gRPC transport: {0}, {1} event loops", epoll ? "epoll" : "nio", threads);
    }

    public EventLoopGroup boss() {
        return boss;
    }

    public EventLoopGroup workers() {
        return workers;
    }

    /**
     * HTTP/2 flow-control window of every data-plane connection and stream, fixed. grpc-java's
     * default tunes it by bandwidth-delay probing, a PING out and a PING ack back on every burst
     * of data read on each connection; on the router's two connections per call that is frame
     * work nginx does not do. 1 MiB is grpc-java's own starting window: a pod's or caller's
     * message up to that size flows without waiting for a window update.
     */
    public static final int FLOW_CONTROL_WINDOW = 1024 * 1024;

    /** Largest header list accepted from callers and pods (HTTP/2 SETTINGS_MAX_HEADER_LIST_SIZE). */
    public static final int MAX_HEADER_LIST_SIZE = 16 * 1024;

    /** The buffer allocator of the server's and the upstream channels' connections. */
    public ByteBufAllocator allocator() {
        return allocator;
    }

    public Class<? extends ServerChannel> serverChannelType() {
        return epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }

    public Class<? extends SocketChannel> socketChannelType() {
        return epoll ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    /**
     * An HTTP/2 connection of the data plane. Its outbound flow control shares the window evenly
     * among streams (as grpc-java does): Netty's default weighs stream priorities, which gRPC never
     * sets, at a cost on every write.
     */
    public static Http2Connection http2Connection(boolean server) {
        Http2Connection c = new DefaultHttp2Connection(server);
        c.remote().flowController(new DefaultHttp2RemoteFlowController(c, new UniformStreamByteDistributor(c)));
        return c;
    }

    /** The calling thread's worker loop index, or -1 when it is not one of the worker loops. */
    static int currentLoop() {
        Integer i = LOOP_INDEX.get();
        return i == null ? -1 : i;
    }

    /** HTTP/2 channels to one inference pod, one per worker loop: plaintext, or TLS as RouterTls says. */
    @Override
    public LoopChannels open(String host, int port) {
        int maxMessageBytes = config.balancer().maxMessageBytes();
        Class<? extends SocketChannel> type = epoll ? EpollSocketChannel.class : NioSocketChannel.class;
        ManagedChannel[] channels = new ManagedChannel[loops.size()];
        PodConnection[] pods = new PodConnection[loops.size()];
        io.netty.bootstrap.Bootstrap bootstrap = PodConnection.bootstrap(this);
        for (int i = 0; i < channels.length; i++) {
            pods[i] = new PodConnection(bootstrap, loops.get(i), host, port, tls.pods().orElse(null),
                    MAX_HEADER_LIST_SIZE);
            NettyChannelBuilder builder = NettyChannelBuilder.forAddress(host, port);
            tls.pods().ifPresentOrElse(builder::sslContext, builder::usePlaintext);
            channels[i] = builder
                    .eventLoopGroup(loops.get(i))
                    .channelType(type)
                    .withOption(ChannelOption.ALLOCATOR, allocator)
                    .flowControlWindow(FLOW_CONTROL_WINDOW)
                    .directExecutor()
                    // the forwarder retries UNAVAILABLE on another pod itself; grpc's own retry
                    // would only buffer every request for a second attempt on the same pod
                    .disableRetry()
                    .maxInboundMessageSize(maxMessageBytes)
                    .keepAliveTime(30, TimeUnit.SECONDS)
                    .build();
        }
        return new LoopChannels(pods, channels);
    }

    @PreDestroy
    void close() {
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS);
    }
}
