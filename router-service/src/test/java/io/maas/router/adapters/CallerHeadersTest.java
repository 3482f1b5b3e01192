package io.maas.router.adapters;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;

import io.grpc.InternalMetadata;
import io.grpc.Metadata;

/** The caller's headers as the forwarding path reads them: what goes on to a pod, and their size. */
class CallerHeadersTest {

    private static Metadata.Key<String> ascii(String name) {
        return Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER);
    }

    /** As grpc-java's server transport hands them over: raw bytes, binary values already decoded. */
    private static Metadata received(String... namesAndValues) {
        byte[][] raw = new byte[namesAndValues.length][];
        for (int i = 0; i < raw.length; i++) {
            raw[i] = namesAndValues[i].getBytes(StandardCharsets.US_ASCII);
        }
        return InternalMetadata.newMetadata(raw);
    }

    @Test
    void passesOnTheCallersOwnHeadersButNotTransportOnesOrCredentials() {
        Metadata in = received("content-type", "application/grpc", "te", "trailers", "user-agent", "grpc-java/1",
                "grpc-accept-encoding", "gzip", "grpc-timeout", "999m", "authorization", "Bearer secret",
                "x-api-key", "secret", "x-routing-key", "user-7", "traceparent", "00-abc-def-01",
                "x-trace-bin", "\u0001\u0002\u0003", "x-routing-key", "user-8");
        Metadata out = CallerHeaders.forwarded(in);
        assertEquals(new TreeSet<>(List.of("x-routing-key", "traceparent", "x-trace-bin")), new TreeSet<>(out.keys()));
        assertEquals(List.of("user-7", "user-8"), iterate(out.getAll(ascii("x-routing-key"))));
        assertArrayEquals(new byte[] {1, 2, 3}, out.get(Metadata.Key.of("x-trace-bin", Metadata.BINARY_BYTE_MARSHALLER)));
        assertNull(out.get(ascii("authorization")));
        // a traced attempt replaces the trace headers on the copy, never on the caller's
        out.removeAll(ascii("traceparent"));
        out.put(ascii("traceparent"), "00-new-span-01");
        out.put(ascii("tracestate"), "a=b");
        assertEquals("00-new-span-01", out.get(ascii("traceparent")));
        assertEquals("00-abc-def-01", in.get(ascii("traceparent")));
        assertEquals(Set.of("x-routing-key", "traceparent", "x-trace-bin", "tracestate"), out.keys());
    }

    @Test
    void sizeCountsAsHttp2DoesWithBinaryValuesInBase64() {
        Metadata md = received("x-routing-key", "user-7", "x-trace-bin", "\u0001\u0002\u0003\u0004");
        // 13 + 6 + 32, then 11 + base64(4 bytes) = 8 + 32
        assertEquals(51 + 51, CallerHeaders.size(md));
        Metadata built = new Metadata();
        built.put(ascii("x-routing-key"), "user-7");
        built.put(Metadata.Key.of("x-trace-bin", Metadata.BINARY_BYTE_MARSHALLER), new byte[] {1, 2, 3, 4});
        assertEquals(102, CallerHeaders.size(built));
        assertEquals(0, CallerHeaders.size(new Metadata()));
    }

    private static List<String> iterate(Iterable<String> values) {
        List<String> out = new java.util.ArrayList<>();
        values.forEach(out::add);
        return out;
    }
}
