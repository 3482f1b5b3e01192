package io.maas.router.adapters;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

import io.maas.router.domain.StatusCode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;

/**
 * gRPC over HTTP/2 as the frame-level data plane sees it (the gRPC "PROTOCOL-HTTP2" spec): the
 * header names, {@code grpc-timeout}, {@code grpc-message}'s percent-encoding, the 5-byte message
 * prefix, and the status of an answer that is not gRPC.
 */
public final class GrpcWire {
    private GrpcWire() {
    }

    public static final AsciiString CONTENT_TYPE = AsciiString.cached("content-type");
    public static final AsciiString APPLICATION_GRPC = AsciiString.cached("application/grpc");
    public static final AsciiString TE = AsciiString.cached("te");
    public static final AsciiString TRAILERS = AsciiString.cached("trailers");
    public static final AsciiString GRPC_STATUS = AsciiString.cached("grpc-status");
    public static final AsciiString GRPC_MESSAGE = AsciiString.cached("grpc-message");
    public static final AsciiString GRPC_TIMEOUT = AsciiString.cached("grpc-timeout");
    public static final AsciiString GRPC_ENCODING = AsciiString.cached("grpc-encoding");
    public static final AsciiString POST = AsciiString.cached("POST");
    public static final AsciiString HTTP = AsciiString.cached("http");
    public static final AsciiString HTTPS = AsciiString.cached("https");
    public static final AsciiString OK_200 = AsciiString.cached("200");
    private static final AsciiString[] STATUS_CODES = new AsciiString[StatusCode.values().length];

    static {
        for (int i = 0; i < STATUS_CODES.length; i++) {
            STATUS_CODES[i] = AsciiString.cached(Integer.toString(i));
        }
    }

    /** A gRPC message's prefix: the compressed flag and the length. */
    public static final int PREFIX = 5;

    /** {@code grpc-timeout} in nanoseconds, or -1 when absent or malformed (then no deadline, as grpc-java). */
    public static long timeoutNanos(CharSequence value) {
        if (value == null || value.length() < 2 || value.length() > 9) {
            return -1;
        }
        long n = 0;
        for (int i = 0; i < value.length() - 1; i++) {
            char c = value.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            n = n * 10 + (c - '0');
        }
        return switch (value.charAt(value.length() - 1)) {
            case 'H' -> n * 3_600_000_000_000L;
            case 'M' -> n * 60_000_000_000L;
            case 'S' -> n * 1_000_000_000L;
            case 'm' -> n * 1_000_000L;
            case 'u' -> n * 1_000L;
            case 'n' -> n;
            default -> -1;
        };
    }

    /** {@code grpc-timeout} for the time left, in the finest unit that fits its 8 digits. */
    public static String timeout(long nanos) {
        long n = Math.max(nanos, 1);
        if (n < 100_000_000L) {
            return n + "n";
        }
        if (n < 100_000_000_000L) {
            return (n / 1_000) + "u";
        }
        if (n < 100_000_000_000_000L) {
            return (n / 1_000_000) + "m";
        }
        return (n / 1_000_000_000) + "S";
    }

    /** {@code grpc-message}'s value for a status message: percent-encoded UTF-8 outside printable ASCII and '%'. */
    public static CharSequence encodeMessage(String message) {
        byte[] utf8 = message.getBytes(StandardCharsets.UTF_8);
        StringBuilder out = null;
        for (int i = 0; i < utf8.length; i++) {
            int b = utf8[i] & 0xff;
            boolean plain = b >= 0x20 && b < 0x7f && b != '%';
            if (!plain && out == null) {
                out = new StringBuilder(utf8.length + 16).append(message, 0, i);
            }
            if (out != null) {
                if (plain) {
                    out.append((char) b);
                } else {
                    out.append('%').append(Character.toUpperCase(Character.forDigit(b >> 4, 16)))
                            .append(Character.toUpperCase(Character.forDigit(b & 0xf, 16)));
                }
            }
        }
        return out == null ? message : out;
    }

    /** The status message of a {@code grpc-message} value (malformed escapes are kept as they are). */
    public static String decodeMessage(CharSequence value) {
        if (value == null) {
            return "";
        }
        String s = value.toString();
        if (s.indexOf('%') < 0) {
            return s;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%' && i + 2 < s.length()) {
                int hi = Character.digit(s.charAt(i + 1), 16);
                int lo = Character.digit(s.charAt(i + 2), 16);
                if (hi >= 0 && lo >= 0) {
                    out.write(hi << 4 | lo);
                    i += 2;
                    continue;
                }
            }
            out.write(c);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** The gRPC status of an HTTP answer that carries none (the gRPC spec's mapping). */
    public static StatusCode fromHttp(CharSequence httpStatus) {
        return switch (httpStatus == null ? "" : httpStatus.toString()) {
            case "400" -> StatusCode.INTERNAL;
            case "401" -> StatusCode.UNAUTHENTICATED;
            case "403" -> StatusCode.PERMISSION_DENIED;
            case "404" -> StatusCode.UNIMPLEMENTED;
            case "429", "502", "503", "504" -> StatusCode.UNAVAILABLE;
            default -> StatusCode.UNKNOWN;
        };
    }

    /** The status code of a {@code grpc-status} value; UNKNOWN when malformed. */
    public static StatusCode status(CharSequence value) {
        if (value == null || value.length() == 0 || value.length() > 2) {
            return StatusCode.UNKNOWN;
        }
        try {
            return StatusCode.of(Integer.parseInt(value.toString()));
        } catch (RuntimeException e) {
            return StatusCode.UNKNOWN;
        }
    }

    /** Response headers of an answer: status 200, gRPC's content type. */
    public static Http2Headers responseHeaders() {
        return new DefaultHttp2Headers(false).status(OK_200).add(CONTENT_TYPE, APPLICATION_GRPC);
    }

    /** Trailers with the status (also a trailers-only answer when sent as the only headers). */
    public static Http2Headers withStatus(Http2Headers trailers, StatusCode code, String message) {
        trailers.set(GRPC_STATUS, STATUS_CODES[code.ordinal()]);
        if (message != null && !message.isEmpty()) {
            trailers.set(GRPC_MESSAGE, encodeMessage(message));
        } else {
            trailers.remove(GRPC_MESSAGE);
        }
        return trailers;
    }

    /**
     * {@code body} with {@code data} appended (retained): a message that came in one DATA frame
     * stays that frame's buffer, more frames make a composite. {@code body} may be null.
     */
    public static ByteBuf append(ByteBuf body, ByteBuf data) {
        if (body == null) {
            return data.retain();
        }
        CompositeByteBuf c;
        if (body instanceof CompositeByteBuf composite) {
            c = composite;
        } else {
            c = data.alloc().compositeBuffer(64);
            c.addComponent(true, body);
        }
        return c.addComponent(true, data.retain());
    }

    /** A decompressed message over the size limit. */
    public static final class TooLarge extends java.io.IOException {
        TooLarge(String message) {
            super(message);
        }
    }

    /**
     * A message compressed with {@code encoding} (gzip or deflate), decompressed and framed with a
     * prefix (heap buffer); null for another encoding. Stops at {@code max} bytes.
     */
    public static ByteBuf gunzip(CharSequence encoding, ByteBuf compressed, int max) throws java.io.IOException {
        String e = encoding == null ? "" : encoding.toString();
        java.io.InputStream raw = new io.netty.buffer.ByteBufInputStream(compressed.duplicate());
        java.io.InputStream in = switch (e) {
            case "gzip" -> new java.util.zip.GZIPInputStream(raw);
            case "deflate" -> new java.util.zip.InflaterInputStream(raw);
            default -> null;
        };
        if (in == null) {
            return null;
        }
        try (in) {
            byte[] plain = in.readNBytes(max + 1);
            if (plain.length > max) {
                throw new TooLarge("the decompressed message exceeds the maximum size " + max);
            }
            return io.netty.buffer.Unpooled.buffer(PREFIX + plain.length).writeByte(0).writeInt(plain.length)
                    .writeBytes(plain);
        }
    }

    /** One gRPC message: prefix and bytes. */
    public static ByteBuf frame(ByteBufAllocator alloc, byte[] message) {
        ByteBuf out = alloc.buffer(PREFIX + message.length);
        out.writeByte(0).writeInt(message.length).writeBytes(message);
        return out;
    }
}
