package io.maas.router.adapters;

import java.util.ArrayList;
import java.util.List;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2EventAdapter;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.codec.http2.AbstractHttp2ConnectionHandlerBuilder;
import io.netty.handler.ssl.SslContext;
import io.netty.util.AsciiString;
import io.netty.util.collection.IntObjectHashMap;

/**
 * One HTTP/2 connection from the router to one pod, owned by one event loop: the data plane's
 * client side at the frame level. A forwarded call is one stream: the request's HEADERS and DATA
 * go out as received (no gRPC message decoding), the response's frames come back to a
 * {@link Listener}. Everything here runs on {@link #loop()}.
 */
public final class PodConnection {

    /** The pod's side of one stream, called on the connection's loop. */
    public interface Listener {
        /** Response headers, or the trailers when {@code endStream} (also a trailers-only answer). */
        void onHeaders(Http2Headers headers, boolean endStream);

        /** Part of the response body; {@code data} is only valid during the call (retain to keep it). */
        void onData(ByteBuf data, boolean endStream);

        /**
         * The stream ended without trailers: reset by the pod, the connection lost or never made.
         * {@code why} says which, for the caller's status message.
         */
        void onClosed(String why);
    }

    /** A stream once opened: cancelling resets it; its listener hears nothing more. */
    public interface Stream {
        void cancel();
    }

    /** After a failed connect, calls fail at once (to be retried elsewhere) for this long before the next try. */
    private static final long RECONNECT_BACKOFF_NANOS = 1_000_000_000L;

    private final Bootstrap bootstrap;
    private final EventLoop loop;
    private final String host;
    private final int port;
    private final SslContext ssl;
    private final int maxHeaderListSize;
    private Handler handler;
    private ChannelFuture connecting;
    private final List<Runnable> waiting = new ArrayList<>();
    private String lastFailure;
    private long lastFailureNanos;
    private boolean shutdown;

    PodConnection(Bootstrap bootstrap, EventLoop loop, String host, int port, SslContext ssl, int maxHeaderListSize) {
        this.bootstrap = bootstrap;
        this.loop = loop;
        this.host = host;
        this.port = port;
        this.ssl = ssl;
        this.maxHeaderListSize = maxHeaderListSize;
    }

    public EventLoop loop() {
        return loop;
    }

    /** The {@code :authority} and {@code :scheme} the requests carry. */
    public String authority() {
        return host + ":" + port;
    }

    public boolean tls() {
        return ssl != null;
    }

    /**
     * Sends one request (headers, then the body with END_STREAM) on a new stream; connects first
     * when needed. Must be called on {@link #loop()}; {@code body} is released here.
     */
    public Stream open(Http2Headers headers, ByteBuf body, Listener listener) {
        PendingStream s = new PendingStream(headers, body, listener);
        if (shutdown) {
            s.fail("the router is shutting down");
        } else if (handler != null && handler.usable()) {
            handler.open(s);
        } else if (connecting == null && lastFailure != null && System.nanoTime() - lastFailureNanos < RECONNECT_BACKOFF_NANOS) {
            s.fail(lastFailure);
        } else {
            waiting.add(() -> {
                if (handler != null && handler.usable()) {
                    handler.open(s);
                } else {
                    s.fail(lastFailure != null ? lastFailure : "connection to " + authority() + " closed");
                }
            });
            connect();
        }
        return s;
    }

    /** Connects now (off-loop callers are moved onto the loop), forgetting any backoff. */
    void connect() {
        if (!loop.inEventLoop()) {
            loop.execute(this::connect);
            return;
        }
        lastFailure = null;
        if (shutdown || connecting != null || handler != null && handler.usable()) {
            return;
        }
        Handler h = new Builder().build();
        connecting = bootstrap.clone(loop).handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                if (ssl != null) {
                    ch.pipeline().addLast(ssl.newHandler(ch.alloc(), host, port));
                }
                ch.pipeline().addLast(h);
            }
        }).connect(host, port);
        connecting.addListener(f -> {
            connecting = null;
            if (f.isSuccess()) {
                handler = h;
            } else {
                lastFailure = "cannot connect to " + authority() + ": " + f.cause().getMessage();
                lastFailureNanos = System.nanoTime();
            }
            List<Runnable> run = new ArrayList<>(waiting);
            waiting.clear();
            run.forEach(Runnable::run);
        });
    }

    /** Graceful: streams in flight finish (GOAWAY), new ones fail. */
    void shutdown() {
        if (!loop.inEventLoop()) {
            loop.execute(this::shutdown);
            return;
        }
        shutdown = true;
        if (handler != null) {
            handler.ctx.close();
        }
    }

    /** Closes the connection now. */
    void close() {
        if (!loop.inEventLoop()) {
            loop.execute(this::close);
            return;
        }
        shutdown = true;
        if (handler != null) {
            handler.ctx.channel().close();
        }
    }

    /** A request waiting for, or sent on, a stream. */
    private final class PendingStream implements Stream {
        final Http2Headers headers;
        ByteBuf body;
        final Listener listener;
        Handler on;
        int id;
        boolean done;

        PendingStream(Http2Headers headers, ByteBuf body, Listener listener) {
            this.headers = headers;
            this.body = body;
            this.listener = listener;
        }

        void fail(String why) {
            release();
            if (!done) {
                done = true;
                listener.onClosed(why);
            }
        }

        void release() {
            if (body != null) {
                body.release();
                body = null;
            }
        }

        @Override
        public void cancel() {
            if (!loop.inEventLoop()) {
                loop.execute(this::cancel);
                return;
            }
            release();
            if (done) {
                return;
            }
            done = true;
            if (on != null && id != 0) {
                on.streams.remove(id);
                on.encoder().writeRstStream(on.ctx, id, Http2Error.CANCEL.code(), on.ctx.newPromise());
                on.flush(on.ctx);
            }
        }
    }

    private final class Builder extends AbstractHttp2ConnectionHandlerBuilder<Handler, Builder> {
        Builder() {
            connection(GrpcTransport.http2Connection(false));
            validateHeaders(false); // the pods' answers; callers' headers are validated at the front
            // grpc-timeout differs on every call: indexed, it would churn HPACK's table and every
            // lookup in it (most of the encoder's time in a profile)
            headerSensitivityDetector((name, value) -> AsciiString.contentEquals(name, GrpcWire.GRPC_TIMEOUT));
            Http2Settings settings = initialSettings();
            settings.initialWindowSize(GrpcTransport.FLOW_CONTROL_WINDOW);
            settings.maxHeaderListSize(maxHeaderListSize);
            settings.pushEnabled(false);
            frameListener(new Http2EventAdapter());
        }

        @Override
        protected Handler build(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder, Http2Settings initialSettings) {
            Handler h = new Handler(decoder, encoder, initialSettings);
            decoder.frameListener(h.frames);
            return h;
        }

        @Override
        public Handler build() {
            return super.build();
        }
    }

    /** The connection's HTTP/2 codec and its streams' listeners. */
    private final class Handler extends Http2ConnectionHandler {
        final IntObjectHashMap<PendingStream> streams = new IntObjectHashMap<>();
        ChannelHandlerContext ctx;
        boolean goAway;

        Handler(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder, Http2Settings settings) {
            super(decoder, encoder, settings);
            connection().addListener(new Http2ConnectionAdapter() {
                @Override
                public void onStreamClosed(Http2Stream stream) {
                    PendingStream s = streams.remove(stream.id());
                    if (s != null && !s.done) {
                        s.done = true;
                        s.listener.onClosed("the stream to " + authority() + " closed without an answer");
                    }
                }

                @Override
                public void onGoAwayReceived(int lastStreamId, long errorCode, ByteBuf debugData) {
                    goAway = true; // the pod is going away: the next call opens a new connection
                }
            });
        }

        boolean usable() {
            return !goAway && ctx != null && ctx.channel().isActive() && connection().local().canOpenStream();
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
            this.ctx = ctx;
            super.handlerAdded(ctx);
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) throws Exception {
            super.channelActive(ctx); // sends the preface
            // the connection-level window, like the streams' (HTTP/2 starts it at 64 KiB)
            Http2Connection c = connection();
            c.local().flowController().incrementWindowSize(c.connectionStream(),
                    GrpcTransport.FLOW_CONTROL_WINDOW - Http2CodecUtil.DEFAULT_WINDOW_SIZE);
            flush(ctx);
        }

        void open(PendingStream s) {
            int id = connection().local().incrementAndGetNextStreamId();
            if (id < 0) {
                goAway = true;
                s.fail("stream ids exhausted on the connection to " + authority());
                return;
            }
            s.on = this;
            s.id = id;
            streams.put(id, s);
            ByteBuf body = s.body;
            s.body = null;
            encoder().writeHeaders(ctx, id, s.headers, 0, false, ctx.newPromise()).addListener(f -> {
                if (!f.isSuccess() && streams.remove(id) != null) {
                    s.fail("cannot open a stream to " + authority() + ": " + f.cause().getMessage());
                }
            });
            encoder().writeData(ctx, id, body, 0, true, ctx.newPromise());
            flush(ctx);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            if (handler == this) {
                handler = null;
            }
            List<PendingStream> left = new ArrayList<>(streams.values());
            streams.clear();
            for (PendingStream s : left) {
                s.fail("the connection to " + authority() + " closed");
            }
            super.channelInactive(ctx);
        }

        final Http2Frames frames = new Http2Frames() {
            @Override
            public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
                    boolean endOfStream) {
                PendingStream s = streams.get(streamId);
                if (s == null) {
                    return;
                }
                if (endOfStream) {
                    streams.remove(streamId);
                    s.done = true;
                }
                s.listener.onHeaders(headers, endOfStream);
            }


            @Override
            public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean endOfStream) {
                int processed = data.readableBytes() + padding;
                PendingStream s = streams.get(streamId);
                if (s != null) {
                    if (endOfStream) {
                        streams.remove(streamId);
                        s.done = true;
                    }
                    s.listener.onData(data, endOfStream);
                }
                return processed;
            }

            @Override
            public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
                PendingStream s = streams.remove(streamId);
                if (s != null && !s.done) {
                    s.done = true;
                    Http2Error e = Http2Error.valueOf(errorCode);
                    s.listener.onClosed("the pod " + authority() + " reset the stream ("
                            + (e == null ? "error " + errorCode : e.name()) + ")");
                }
            }
        };
    }

    static Bootstrap bootstrap(GrpcTransport transport) {
        return new Bootstrap().channel(transport.socketChannelType())
                .option(ChannelOption.ALLOCATOR, transport.allocator())
                .option(ChannelOption.TCP_NODELAY, true);
    }
}
