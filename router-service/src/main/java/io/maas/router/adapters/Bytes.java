package io.maas.router.adapters;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;

/**
 * Pass-through marshaller: messages stay opaque bytes. Both directions avoid gRPC's generic
 * stream copying (an 8-16 KiB scratch buffer per message, most of the router's garbage): reads
 * allocate exactly the message's length, writes drain the array straight into the framer.
 */
public final class Bytes {
    private Bytes() {
    }

    public static final MethodDescriptor.Marshaller<byte[]> MARSHALLER = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
            return Payload.MARSHALLER.stream(new Payload(value, Payload.NO_SUFFIX));
        }

        @Override
        public byte[] parse(InputStream stream) {
            return read(stream);
        }
    };

    static byte[] read(InputStream stream) {
        try {
            if (stream instanceof KnownLength) {
                // gRPC's received messages know their length: one exact allocation, no scratch buffers
                byte[] out = new byte[stream.available()];
                if (stream.readNBytes(out, 0, out.length) == out.length && stream.read() == -1) {
                    return out;
                }
                throw new IllegalStateException("message length differs from its stated length");
            }
            return stream.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
