package io.maas.registry.api;

import org.eclipse.microprofile.config.ConfigProvider;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.maas.proto.registry.CreateModelRequest;
import io.maas.proto.registry.ModelRegistryGrpc;
import io.maas.proto.registry.RegisterVersionRequest;
import io.maas.proto.registry.RoutingEvent;
import io.maas.proto.registry.TensorSpec;
import io.maas.proto.registry.WatchRoutingRequest;
import io.grpc.Context;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Real gRPC over loopback to the registry under test, on the port the OS gave it. */
final class GrpcTestClient {

    static final String SHA = "cd".repeat(32);
    private static final AtomicInteger NAMES = new AtomicInteger();

    private GrpcTestClient() {
    }

    /** The registry's gRPC port: its test port is 0, and Quarkus puts the port it got in the config. */
    static int port() {
        return ConfigProvider.getConfig().getValue("quarkus.grpc.server.test-port", Integer.class);
    }

    static ManagedChannel channel() {
        return ManagedChannelBuilder.forAddress("127.0.0.1", port()).usePlaintext().build();
    }

    static ModelRegistryGrpc.ModelRegistryBlockingStub stub(ManagedChannel channel, String token) {
        var stub = ModelRegistryGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
        if (token == null) {
            return stub;
        }
        var headers = new Metadata();
        headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
        return stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
    }

    /** Model names unique per test run, since test classes share a registry database. */
    static String uniqueModel(String prefix) {
        return prefix + "-" + System.nanoTime() % 1_000_000 + "-" + NAMES.incrementAndGet();
    }

    static TensorSpec tensor(String name, String type, long... shape) {
        var b = TensorSpec.newBuilder().setName(name).setDatatype(type);
        for (long d : shape) {
            b.addShape(d);
        }
        return b.build();
    }

    static void createWithVersions(ModelRegistryGrpc.ModelRegistryBlockingStub stub, String model, String... versions) {
        stub.createModel(CreateModelRequest.newBuilder().setName(model).build());
        for (var v : versions) {
            stub.registerVersion(RegisterVersionRequest.newBuilder().setModel(model).setVersion(v).setArtifactUri("file:///m/" + v)
                    .setSha256(SHA).addInputs(tensor("input_ids", "INT64", -1, -1)).build());
        }
    }

    static Status.Code code(Runnable call) {
        var e = assertThrows(StatusRuntimeException.class, call::run);
        return e.getStatus().getCode();
    }

    static void refused(Status.Code expected, String messagePart, Runnable call) {
        var e = assertThrows(StatusRuntimeException.class, call::run);
        assertEquals(expected, e.getStatus().getCode(), e.getStatus().toString());
        assertTrue(String.valueOf(e.getStatus().getDescription()).contains(messagePart), e.getStatus().toString());
    }

    /** A WatchRouting stream whose events are queued for the test to take. */
    static final class Watch implements AutoCloseable {
        final BlockingQueue<Object> events = new LinkedBlockingQueue<>();
        private final Context.CancellableContext context = Context.current().withCancellation();

        Watch(ManagedChannel channel, long fromRevision) {
            context.run(() -> ModelRegistryGrpc.newStub(channel).watchRouting(
                    WatchRoutingRequest.newBuilder().setFromRevision(fromRevision).build(), new StreamObserver<>() {
                        @Override
                        public void onNext(RoutingEvent value) {
                            events.add(value);
                        }

                        @Override
                        public void onError(Throwable t) {
                            events.add(t);
                        }

                        @Override
                        public void onCompleted() {
                            events.add("completed");
                        }
                    }));
        }

        RoutingEvent next() throws InterruptedException {
            Object e = events.poll(30, TimeUnit.SECONDS);
            assertNotNull(e, "no routing event within 30 s");
            if (e instanceof Throwable t) {
                throw new AssertionError("watch failed", t);
            }
            return (RoutingEvent) e;
        }

        /** Skips events until one for {@code model}; fails if none arrives in time. */
        RoutingEvent nextFor(String model) throws InterruptedException {
            while (true) {
                var e = next();
                if (e.getEntriesList().stream().anyMatch(r -> r.getModel().equals(model))) {
                    return e;
                }
            }
        }

        @Override
        public void close() {
            context.cancel(null);
        }
    }
}
