package io.maas.router.adapters;

import java.nio.charset.StandardCharsets;

import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import io.grpc.InternalMetadata;
import io.grpc.Metadata;
import io.maas.auth.Presented;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;

/**
 * The caller's metadata on the forwarding path, read as the raw name and value bytes the transport
 * received: no header name becomes a {@code String} or a {@code Metadata.Key} per call (that was
 * most of the router's per-call garbage on small messages). The data plane reads them as Netty's
 * HTTP/2 headers (as on the wire: binary values in base64), the shadow path as gRPC metadata.
 */
public final class CallerHeaders {
    private CallerHeaders() {
    }

    private static final byte[] GRPC = ascii("grpc-");
    private static final byte[][] DROPPED = {ascii("content-type"), ascii("te"), ascii("user-agent"), ascii("host"),
            // the caller's credentials stay at the front door
            ascii(Presented.AUTHORIZATION), ascii(Presented.API_KEY)};
    private static final byte[] BINARY = ascii(Metadata.BINARY_HEADER_SUFFIX);

    /**
     * Size as HTTP/2 counts it: name + value + 32 bytes per entry, binary values as their base64
     * (the form they travel in).
     */
    public static int size(Metadata md) {
        byte[][] raw = InternalMetadata.serialize(md);
        int size = 0;
        for (int i = 0; i + 1 < raw.length; i += 2) {
            byte[] name = raw[i];
            int value = raw[i + 1].length;
            size += name.length + (endsWith(name, BINARY) ? (value + 2) / 3 * 4 : value) + 32;
        }
        return size;
    }

    /** The headers passed on to a pod: everything but gRPC's own, HTTP/2's and the credentials. */
    public static Metadata forwarded(Metadata in) {
        byte[][] raw = InternalMetadata.serialize(in);
        // room for the trace headers a traced attempt adds
        byte[][] out = new byte[raw.length + 4][];
        int n = 0;
        for (int i = 0; i + 1 < raw.length; i += 2) {
            if (!dropped(raw[i])) {
                out[n++] = raw[i];
                out[n++] = raw[i + 1];
            }
        }
        return InternalMetadata.newMetadata(n / 2, out);
    }

    /** Size as HTTP/2 counts it (name + value + 32 per entry), pseudo-headers excluded, as {@link #size(Metadata)}. */
    public static int size(Http2Headers headers) {
        int size = 0;
        for (Map.Entry<CharSequence, CharSequence> e : headers) {
            CharSequence name = e.getKey();
            if (name.length() == 0 || name.charAt(0) != ':') {
                size += name.length() + e.getValue().length() + 32;
            }
        }
        return size;
    }

    /** Adds the headers passed on to a pod to {@code out}: as {@link #forwarded(Metadata)}, values as received. */
    public static void forward(Http2Headers in, Http2Headers out) {
        for (Map.Entry<CharSequence, CharSequence> e : in) {
            if (!dropped(e.getKey())) {
                out.add(e.getKey(), e.getValue());
            }
        }
    }

    /** The headers passed on to a pod as gRPC metadata (binary values decoded): the shadow path's form. */
    public static Metadata metadata(Http2Headers in) {
        List<byte[]> raw = new ArrayList<>();
        for (Map.Entry<CharSequence, CharSequence> e : in) {
            CharSequence name = e.getKey();
            if (dropped(name)) {
                continue;
            }
            byte[] n = AsciiString.of(name).toByteArray();
            String value = e.getValue().toString();
            raw.add(n);
            raw.add(endsWith(n, BINARY) ? Base64.getDecoder().decode(value) : value.getBytes(StandardCharsets.US_ASCII));
        }
        return InternalMetadata.newMetadata(raw.size() / 2, raw.toArray(new byte[0][]));
    }

    private static boolean dropped(CharSequence name) {
        if (name.length() > 0 && name.charAt(0) == ':' || AsciiString.regionMatches(name, false, 0, GRPC_TEXT, 0, 5)) {
            return true;
        }
        for (AsciiString d : DROPPED_TEXT) {
            if (AsciiString.contentEquals(name, d)) {
                return true;
            }
        }
        return false;
    }

    private static final AsciiString GRPC_TEXT = AsciiString.of("grpc-");
    private static final AsciiString[] DROPPED_TEXT = java.util.Arrays.stream(DROPPED).map(AsciiString::new)
            .toArray(AsciiString[]::new);

    private static boolean dropped(byte[] name) {
        if (name.length > 0 && name[0] == ':' || startsWith(name, GRPC)) {
            return true;
        }
        for (byte[] d : DROPPED) {
            if (java.util.Arrays.equals(name, d)) {
                return true;
            }
        }
        return false;
    }

    private static boolean startsWith(byte[] a, byte[] prefix) {
        return a.length >= prefix.length && java.util.Arrays.equals(a, 0, prefix.length, prefix, 0, prefix.length);
    }

    private static boolean endsWith(byte[] a, byte[] suffix) {
        return a.length >= suffix.length
                && java.util.Arrays.equals(a, a.length - suffix.length, a.length, suffix, 0, suffix.length);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
