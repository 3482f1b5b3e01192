package io.maas.router.api;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.maas.router.adapters.Bytes;
import io.maas.router.adapters.CallerHeaders;
import io.maas.router.adapters.GrpcWire;
import io.maas.router.domain.StatusCode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;

/**
 * A call to one of the router's own gRPC services (grpc.health.v1, server reflection; anything
 * else gets grpc-java's UNIMPLEMENTED), relayed message by message to the in-process server that
 * hosts them. Streaming both ways (health Watch, reflection), so messages pass as they complete.
 */
final class RelayStream extends FrontConnection.Call {
    private final ClientCall<byte[], byte[]> call;
    private CompositeByteBuf pending;
    private boolean headersSent;
    private boolean closed;

    RelayStream(FrontConnection conn, int id, Http2Headers headers, Channel local) {
        super(conn, id, headers);
        String path = headers.path() == null ? "" : headers.path().toString();
        MethodDescriptor<byte[], byte[]> method = MethodDescriptor.<byte[], byte[]> newBuilder()
                .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
                .setFullMethodName(path.startsWith("/") ? path.substring(1) : path)
                .setRequestMarshaller(Bytes.MARSHALLER).setResponseMarshaller(Bytes.MARSHALLER).build();
        call = local.newCall(method, CallOptions.DEFAULT);
        Metadata md = CallerHeaders.metadata(headers);
        call.start(new ClientCall.Listener<>() {
            @Override
            public void onHeaders(Metadata h) {
                conn.onLoop(() -> sendHeaders());
            }

            @Override
            public void onMessage(byte[] message) {
                conn.onLoop(() -> {
                    sendHeaders();
                    conn.writePart(id, null, GrpcWire.frame(conn.ctx.alloc(), message));
                });
                call.request(1);
            }

            @Override
            public void onClose(Status status, Metadata trailers) {
                conn.onLoop(() -> {
                    closed = true;
                    release();
                    StatusCode code = StatusCode.of(status.getCode().value());
                    Http2Headers t = GrpcWire.withStatus(headersSent ? new DefaultHttp2Headers(false)
                            : GrpcWire.responseHeaders(), code, status.getDescription());
                    answered = true;
                    headersSent = true;
                    conn.write(id, t, null, null);
                });
            }
        }, md);
        call.request(1);
    }

    private void sendHeaders() {
        if (!headersSent) {
            headersSent = true;
            conn.writePart(id, GrpcWire.responseHeaders(), null);
        }
    }

    @Override
    void data(ByteBuf data, boolean endStream) {
        if (closed) {
            return;
        }
        if (data.isReadable()) {
            if (pending == null) {
                pending = conn.ctx.alloc().compositeBuffer(16);
            }
            pending.addComponent(true, data.retain());
            while (pending.readableBytes() >= GrpcWire.PREFIX) {
                long length = pending.getUnsignedInt(pending.readerIndex() + 1);
                if (length > conn.server.maxMessageBytes()) {
                    call.cancel("message too large", null);
                    return;
                }
                if (pending.readableBytes() < GrpcWire.PREFIX + length) {
                    break;
                }
                byte[] message = new byte[(int) length];
                pending.skipBytes(GrpcWire.PREFIX).readBytes(message);
                pending.discardReadComponents();
                call.sendMessage(message);
            }
        }
        if (endStream) {
            call.halfClose();
        }
    }

    @Override
    void end() {
        // data() drives the relay
    }

    @Override
    void cancelled() {
        if (!closed) {
            call.cancel("caller cancelled", null);
        }
    }

    @Override
    void release() {
        super.release();
        if (pending != null) {
            pending.release();
            pending = null;
        }
    }
}
