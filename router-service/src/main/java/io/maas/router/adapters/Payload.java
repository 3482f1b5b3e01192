package io.maas.router.adapters;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

import io.grpc.Drainable;
import io.grpc.KnownLength;
import io.grpc.MethodDescriptor;

/** A request as received, plus an optional suffix (the chosen version), written without a copy. */
public record Payload(byte[] body, byte[] suffix) {

    /** No suffix: the request is forwarded exactly as received. */
    public static final byte[] NO_SUFFIX = new byte[0];

    public int length() {
        return body.length + suffix.length;
    }

    /** Marshaller for forwarded requests: writes body then suffix straight into gRPC's framer. */
    public static final MethodDescriptor.Marshaller<Payload> MARSHALLER = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(Payload value) {
            return new PayloadStream(value);
        }

        @Override
        public Payload parse(InputStream stream) {
            return new Payload(Bytes.read(stream), NO_SUFFIX);
        }
    };

    private static final class PayloadStream extends InputStream implements Drainable, KnownLength {
        private final Payload payload;
        private InputStream fallback;
        private boolean drained;

        PayloadStream(Payload payload) {
            this.payload = payload;
        }

        @Override
        public int drainTo(OutputStream target) throws IOException {
            if (drained || fallback != null) {
                throw new IllegalStateException("already read");
            }
            drained = true;
            target.write(payload.body);
            target.write(payload.suffix);
            return payload.length();
        }

        private InputStream fallback() {
            if (fallback == null) {
                byte[] all = new byte[payload.length()];
                System.arraycopy(payload.body, 0, all, 0, payload.body.length);
                System.arraycopy(payload.suffix, 0, all, payload.body.length, payload.suffix.length);
                fallback = new ByteArrayInputStream(all);
            }
            return fallback;
        }

        @Override
        public int available() throws IOException {
            if (drained) {
                return 0;
            }
            return fallback == null ? payload.length() : fallback.available();
        }

        @Override
        public int read() throws IOException {
            return drained ? -1 : fallback().read();
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            return drained ? -1 : fallback().read(b, off, len);
        }
    }
}
