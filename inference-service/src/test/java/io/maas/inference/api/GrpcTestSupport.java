package io.maas.inference.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.function.Executable;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.maas.proto.inference.GRPCInferenceServiceGrpc;
import io.quarkus.grpc.runtime.GrpcServer;

/** A real plaintext gRPC channel to the service under test on loopback. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class GrpcTestSupport {
    /** The port the service got (test-port 0: the OS picks a free one). */
    @Inject
    GrpcServer grpcServer;

    ManagedChannel channel;
    GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub stub;

    @BeforeAll
    void connect() {
        channel = ManagedChannelBuilder.forAddress("127.0.0.1", grpcServer.getPort()).usePlaintext()
                .maxInboundMessageSize(256 << 20).build();
        stub = GRPCInferenceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    @AfterAll
    void disconnect() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub stub() {
        return GRPCInferenceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
    }

    /** Asserts the call fails with {@code code} and a message containing each of {@code fragments}. */
    static void assertStatus(Status.Code code, Executable call, String... fragments) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call);
        assertEquals(code, e.getStatus().getCode(), () -> "status was " + e.getStatus());
        for (String f : fragments) {
            assertTrue(String.valueOf(e.getStatus().getDescription()).contains(f),
                    () -> "message '" + e.getStatus().getDescription() + "' lacks '" + f + "'");
        }
    }
}
