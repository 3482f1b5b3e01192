package io.maas.router.api;

import java.util.ArrayList;
import java.util.List;

import javax.net.ssl.SSLSession;

import io.maas.auth.RequestBudget;
import io.maas.router.adapters.GrpcTransport;
import io.maas.router.adapters.GrpcWire;
import io.maas.router.adapters.Http2Frames;
import io.maas.router.domain.StatusCode;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http2.AbstractHttp2ConnectionHandlerBuilder;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2ConnectionHandler;
import io.netty.handler.codec.http2.Http2EventAdapter;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.collection.IntObjectHashMap;

/**
 * One caller's HTTP/2 connection to the router's gRPC port, at the frame level: each stream
 * becomes a {@link Call} chosen by its {@code :path} (forwarded, answered by the router, or relayed
 * to the router's own gRPC services), which sees the request's frames and writes the answer's.
 * Everything runs on the connection's event loop.
 */
final class FrontConnection extends Http2ConnectionHandler {

    /** What one stream does with its frames; runs on the connection's loop. */
    abstract static class Call {
        final FrontConnection conn;
        final int id;
        final Http2Headers headers;
        private ByteBuf body;
        /** The body's count against the router's request budget, once it passes the free bytes. */
        private RequestBudget.Request budget;
        private boolean refused;
        boolean answered;

        Call(FrontConnection conn, int id, Http2Headers headers) {
            this.conn = conn;
            this.id = id;
            this.headers = headers;
        }

        /** Request data: unary calls gather it (up to the message size limit) and act at its end. */
        void data(ByteBuf data, boolean endStream) {
            if (!refused && data.isReadable()) {
                int max = conn.server.maxMessageBytes() + GrpcWire.PREFIX;
                int held = body == null ? 0 : body.readableBytes();
                if (held + data.readableBytes() > max) {
                    refused = true;
                    int size = held + data.readableBytes() - GrpcWire.PREFIX;
                    release();
                    answer(StatusCode.RESOURCE_EXHAUSTED, "gRPC message exceeds maximum size "
                            + conn.server.maxMessageBytes() + ": at least " + size + " bytes", null);
                    return;
                }
                if (held + data.readableBytes() > RequestBudget.FREE_BYTES && !takeBudget(held, data.readableBytes())) {
                    return;
                }
                body = GrpcWire.append(body, data);
            }
            if (endStream && !refused) {
                if (budget != null) {
                    budget.read();
                }
                end();
            }
        }

        /**
         * Counts a large request's bytes against the router's budget; false after answering
         * RESOURCE_EXHAUSTED when they would pass it (its bytes are released and go back at once).
         */
        private boolean takeBudget(int held, int arriving) {
            if (budget == null) {
                budget = conn.server.requestBudget().request();
                budget.arrived(held); // within the free bytes: counted as seen, never refused
            }
            if (budget.arrived(arriving)) {
                return true;
            }
            refused = true;
            release();
            String why = budget.refusal("the router");
            budget.ended();
            conn.server.overBudget();
            answer(StatusCode.RESOURCE_EXHAUSTED, why, null);
            return false;
        }

        /** The request is complete. */
        abstract void end();

        /** The caller reset the stream or the connection went away. */
        abstract void cancelled();

        /** The stream is gone: whatever is still held is released. */
        void closed() {
            release();
            if (budget != null) {
                budget.ended();
            }
            if (!answered) {
                cancelled();
            }
        }

        /**
         * The unary request's one message without its prefix (the caller owns the returned buffer),
         * or null after answering why there is none.
         */
        ByteBuf message() {
            ByteBuf b = body;
            body = null;
            if (b == null || b.readableBytes() < GrpcWire.PREFIX) {
                if (b != null) {
                    b.release();
                }
                answer(StatusCode.INTERNAL, "no request message: a unary call needs exactly one", null);
                return null;
            }
            int flag = b.getByte(b.readerIndex());
            long length = b.getUnsignedInt(b.readerIndex() + 1);
            if (length != b.readableBytes() - GrpcWire.PREFIX) {
                b.release();
                answer(length < b.readableBytes() - GrpcWire.PREFIX ? StatusCode.INVALID_ARGUMENT : StatusCode.INTERNAL,
                        length < b.readableBytes() - GrpcWire.PREFIX ? "more than one request message on a unary call"
                                : "the request message ended before its stated length", null);
                return null;
            }
            if (flag == 0) {
                return b.skipBytes(GrpcWire.PREFIX);
            }
            // compressed (tritonclient's compression_algorithm): forwarded uncompressed, framed anew
            CharSequence encoding = headers.get(GrpcWire.GRPC_ENCODING);
            try {
                ByteBuf plain = GrpcWire.gunzip(encoding, b.skipBytes(GrpcWire.PREFIX), conn.server.maxMessageBytes());
                if (plain != null) {
                    return plain.skipBytes(GrpcWire.PREFIX);
                }
                answer(StatusCode.UNIMPLEMENTED, "grpc-encoding '" + encoding + "' is not supported: send gzip, "
                        + "deflate or uncompressed messages", null);
            } catch (java.io.IOException e) {
                answer(e instanceof GrpcWire.TooLarge ? StatusCode.RESOURCE_EXHAUSTED : StatusCode.INTERNAL,
                        "cannot decompress the request (grpc-encoding " + encoding + "): " + e.getMessage(), null);
            } finally {
                b.release();
            }
            return null;
        }

        /** Answers with trailers only: the status and any extra trailers (null for none). */
        void answer(StatusCode code, String message, Http2Headers extra) {
            if (answered) {
                return;
            }
            answered = true;
            Http2Headers t = GrpcWire.responseHeaders();
            if (extra != null) {
                t.add(extra);
            }
            conn.write(id, GrpcWire.withStatus(t, code, message), null, null);
        }

        /** Answered before the request ended: what it holds goes back, what still comes is dropped. */
        void drop() {
            refused = true;
            release();
            if (budget != null) {
                budget.ended();
            }
        }

        void release() {
            if (body != null) {
                body.release();
                body = null;
            }
        }
    }

    /** Opens the {@link Call} for a new stream. */
    interface Calls {
        Call open(FrontConnection conn, int streamId, Http2Headers headers);
    }

    final DataPlaneServer server;
    private final Calls calls;
    private final IntObjectHashMap<Call> streams = new IntObjectHashMap<>();
    ChannelHandlerContext ctx;

    private FrontConnection(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder, Http2Settings settings,
            DataPlaneServer server, Calls calls) {
        super(decoder, encoder, settings);
        this.server = server;
        this.calls = calls;
        connection().addListener(new Http2ConnectionAdapter() {
            @Override
            public void onStreamClosed(Http2Stream stream) {
                Call c = streams.remove(stream.id());
                if (c != null) {
                    c.closed();
                }
            }
        });
    }

    static FrontConnection create(DataPlaneServer server, Calls calls) {
        return new Builder(server, calls).build();
    }

    private static final class Builder extends AbstractHttp2ConnectionHandlerBuilder<FrontConnection, Builder> {
        private final DataPlaneServer server;
        private final Calls calls;

        Builder(DataPlaneServer server, Calls calls) {
            this.server = server;
            this.calls = calls;
            connection(GrpcTransport.http2Connection(true));
            initialSettings().initialWindowSize(GrpcTransport.FLOW_CONTROL_WINDOW)
                    .maxHeaderListSize(GrpcTransport.MAX_HEADER_LIST_SIZE);
            frameListener(new Http2EventAdapter());
        }

        @Override
        protected FrontConnection build(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder,
                Http2Settings settings) {
            FrontConnection c = new FrontConnection(decoder, encoder, settings, server, calls);
            decoder.frameListener(c.frames);
            return c;
        }

        @Override
        public FrontConnection build() {
            return super.build();
        }
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) throws Exception {
        this.ctx = ctx;
        server.unreadAnswers().holding(unread);
        ctx.channel().closeFuture().addListener(closed -> server.unreadAnswers().released(unread));
        super.handlerAdded(ctx);
        if (ctx.channel().isActive()) {
            growConnectionWindow();
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        super.channelActive(ctx);
        growConnectionWindow();
    }

    private boolean windowGrown;

    /** The connection-level window, like the streams' (HTTP/2 starts it at 64 KiB). */
    private void growConnectionWindow() throws Exception {
        if (windowGrown) {
            return;
        }
        windowGrown = true;
        Http2Connection c = connection();
        c.local().flowController().incrementWindowSize(c.connectionStream(),
                GrpcTransport.FLOW_CONTROL_WINDOW - Http2CodecUtil.DEFAULT_WINDOW_SIZE);
        flush(ctx);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        List<Call> left = new ArrayList<>(streams.values());
        streams.clear();
        for (Call c : left) {
            c.closed();
        }
        super.channelInactive(ctx);
    }

    /** The verified TLS session of this connection, or null on plaintext. */
    SSLSession session() {
        SslHandler ssl = ctx.pipeline().get(SslHandler.class);
        return ssl == null ? null : ssl.engine().getSession();
    }

    /** Runs on this connection's loop (at once when already there). */
    void onLoop(Runnable r) {
        if (ctx.executor().inEventLoop()) {
            r.run();
        } else {
            ctx.executor().execute(r);
        }
    }

    /**
     * Writes an answer's frames and flushes: headers (ending the stream when alone), then the data
     * and trailers when given. A stream the caller already reset is skipped, and {@code data} released.
     */
    void write(int streamId, Http2Headers headers, ByteBuf data, Http2Headers trailers) {
        if (!ctx.executor().inEventLoop()) {
            ctx.executor().execute(() -> write(streamId, headers, data, trailers));
            return;
        }
        if (!open(streamId, data)) {
            return;
        }
        if (data != null && !server.unreadAnswers().admit(unread, data.readableBytes())) {
            String why = server.unreadAnswers().why(unread, data.readableBytes());
            data.release();
            encoder().writeHeaders(ctx, streamId, GrpcWire.withStatus(GrpcWire.responseHeaders(),
                    StatusCode.RESOURCE_EXHAUSTED, why), 0, true, ended(streamId));
            flush(ctx);
            return;
        }
        boolean alone = data == null && trailers == null;
        encoder().writeHeaders(ctx, streamId, headers, 0, alone, alone ? ended(streamId) : ctx.newPromise());
        if (data != null) {
            writeAnswerData(streamId, data, trailers == null);
        }
        if (trailers != null) {
            encoder().writeHeaders(ctx, streamId, trailers, 0, true, ended(streamId));
        }
        flush(ctx);
    }

    /**
     * The promise of a frame that ends the answer. A caller still sending its request then (answered
     * early: past its deadline, say) has what its request holds released, and whatever more it sends is
     * dropped. Without it, a caller that sends part of a large message and stalls held those bytes, against
     * every caller's request budget, for as long as it kept the connection open. (Not RST_STREAM, which
     * RFC 9113 §8.1 allows: gRPC clients count the resets they receive and drop a connection after 200,
     * every call on it with it.)
     */
    private ChannelPromise ended(int streamId) {
        ChannelPromise written = ctx.newPromise();
        written.addListener(done -> {
            Http2Stream stream = connection().stream(streamId);
            Call c = streams.get(streamId);
            if (c != null && stream != null && stream.state() == Http2Stream.State.HALF_CLOSED_LOCAL) {
                c.drop();
            }
        });
        return written;
    }

    /** Whether the caller's stream is still there to write to; if not, {@code data} is released. */
    private boolean open(int streamId, ByteBuf data) {
        Http2Stream stream = connection().stream(streamId);
        if (stream != null && stream.state() != Http2Stream.State.CLOSED) {
            return true;
        }
        if (data != null) {
            data.release();
        }
        return false;
    }

    /** Writes frames of a streaming answer without ending it (the relay's messages). */
    void writePart(int streamId, Http2Headers headers, ByteBuf data) {
        if (!ctx.executor().inEventLoop()) {
            ctx.executor().execute(() -> writePart(streamId, headers, data));
            return;
        }
        if (!open(streamId, data)) {
            return;
        }
        if (data != null && !server.unreadAnswers().admit(unread, data.readableBytes())) {
            // mid-stream there is no status to send: the stream is reset, which drops what waits on it
            data.release();
            resetStream(ctx, streamId, Http2Error.ENHANCE_YOUR_CALM.code(), ctx.newPromise());
            flush(ctx);
            return;
        }
        if (headers != null) {
            encoder().writeHeaders(ctx, streamId, headers, 0, false, ctx.newPromise());
        }
        if (data != null) {
            writeAnswerData(streamId, data, false);
        }
        flush(ctx);
    }

    /** Answer bytes written to this caller's streams and not yet on the wire (written on the event loop only). */
    private volatile long answersWaiting;

    /** This connection under the router's bound on unread answers; registered while the channel is open. */
    private final UnreadAnswers.Holder unread = new UnreadAnswers.Holder() {
        @Override
        public long waiting() {
            return answersWaiting;
        }

        @Override
        public void evict(String why) {
            // from this handler's context down: the channel's own close would go through this handler's
            // graceful HTTP/2 shutdown, which waits for streams whose answers the caller does not read
            ctx.close();
        }
    };

    /** Writes answer data, counted as waiting until it is on the wire (or dropped with its stream). */
    private void writeAnswerData(int streamId, ByteBuf data, boolean endStream) {
        int n = data.readableBytes();
        answersWaiting += n;
        server.unreadAnswers().waiting(n);
        ChannelPromise written = ctx.newPromise();
        written.addListener(done -> {
            answersWaiting -= n;
            server.unreadAnswers().waiting(-n);
        });
        encoder().writeData(ctx, streamId, data, 0, endStream, written);
    }

    private final Http2Frames frames = new Http2Frames() {
        @Override
        public void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
                boolean endOfStream) {
            Call c = streams.get(streamId);
            if (c == null) {
                c = calls.open(FrontConnection.this, streamId, headers);
                if (c == null) {
                    return;
                }
                streams.put(streamId, c);
            }
            if (endOfStream) {
                // no body, or the caller's trailers
                c.data(io.netty.buffer.Unpooled.EMPTY_BUFFER, true);
            }
        }


        @Override
        public int onDataRead(ChannelHandlerContext ctx, int streamId, ByteBuf data, int padding, boolean endOfStream) {
            int processed = data.readableBytes() + padding;
            Call c = streams.get(streamId);
            if (c != null) {
                c.data(data, endOfStream);
            }
            return processed;
        }

        @Override
        public void onRstStreamRead(ChannelHandlerContext ctx, int streamId, long errorCode) {
            Call c = streams.remove(streamId);
            if (c != null) {
                c.closed();
            }
        }
    };
}
