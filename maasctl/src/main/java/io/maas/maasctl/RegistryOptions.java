package io.maas.maasctl;

import io.grpc.CallCredentials;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.TlsChannelCredentials;
import io.maas.proto.registry.ModelRegistryGrpc;
import picocli.CommandLine.Option;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/** Connection options shared by every command: where the registry is and who we are. */
final class RegistryOptions {

    @Option(names = "--registry", defaultValue = "${env:MAAS_REGISTRY_ADDRESS:-localhost:9001}",
            description = "Registry gRPC address host:port (env MAAS_REGISTRY_ADDRESS; default ${DEFAULT-VALUE}).")
    String address;

    @Option(names = "--token", defaultValue = "${env:MAAS_REGISTRY_TOKEN}",
            description = "Bearer token for writes (env MAAS_REGISTRY_TOKEN).")
    String token;

    @Option(names = "--tls", description = "Use TLS to reach the registry.")
    boolean tls;

    @Option(names = "--ca", description = "PEM file of the CA that signed the registry's certificate (implies --tls).")
    File ca;

    @Option(names = "--cert", description = "PEM client certificate for mTLS, used instead of a token (implies --tls; needs --key).")
    File cert;

    @Option(names = "--key", description = "PEM private key of --cert.")
    File key;

    @Option(names = "--timeout", defaultValue = "15", description = "Seconds to wait for each call (default ${DEFAULT-VALUE}).")
    long timeoutSeconds;

    /** A connected stub; close the returned channel when done. */
    Connection connect() {
        ChannelCredentials credentials;
        if ((cert == null) != (key == null)) {
            throw new IllegalArgumentException("--cert and --key go together: give both or neither");
        }
        if (tls || ca != null || cert != null) {
            var builder = TlsChannelCredentials.newBuilder();
            if (ca != null) {
                try {
                    builder.trustManager(ca);
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot read --ca " + ca, e);
                }
            }
            if (cert != null) {
                try {
                    builder.keyManager(cert, key);
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot read --cert " + cert + " / --key " + key, e);
                }
            }
            credentials = builder.build();
        } else {
            credentials = InsecureChannelCredentials.create();
        }
        ManagedChannel channel = Grpc.newChannelBuilder(address, credentials).build();
        var stub = ModelRegistryGrpc.newBlockingStub(channel);
        if (token != null && !token.isBlank()) {
            stub = stub.withCallCredentials(bearer(token.strip()));
        }
        return new Connection(channel, stub, timeoutSeconds);
    }

    record Connection(ManagedChannel channel, ModelRegistryGrpc.ModelRegistryBlockingStub rawStub, long timeoutSeconds)
            implements AutoCloseable {
        ModelRegistryGrpc.ModelRegistryBlockingStub stub() {
            return rawStub.withDeadlineAfter(timeoutSeconds, TimeUnit.SECONDS);
        }

        @Override
        public void close() {
            channel.shutdownNow();
        }
    }

    private static CallCredentials bearer(String token) {
        var key = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
        return new CallCredentials() {
            @Override
            public void applyRequestMetadata(RequestInfo info, Executor executor, MetadataApplier applier) {
                var headers = new Metadata();
                headers.put(key, "Bearer " + token);
                applier.apply(headers);
            }
        };
    }
}
