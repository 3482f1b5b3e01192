package io.maas.router.adapters;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2EventAdapter;
import io.netty.handler.codec.http2.Http2Headers;

/**
 * The data plane's HTTP/2 frame listeners (the caller's side and the pods'): a HEADERS frame that
 * carries a priority is handled like any other, since neither side schedules by priority.
 */
public abstract class Http2Frames extends Http2EventAdapter {
    @Override
    public abstract void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int padding,
            boolean endOfStream);

    @Override
    public final void onHeadersRead(ChannelHandlerContext ctx, int streamId, Http2Headers headers, int streamDependency,
            short weight, boolean exclusive, int padding, boolean endOfStream) {
        onHeadersRead(ctx, streamId, headers, padding, endOfStream);
    }
}
