package io.maas.inference.api;

import static io.restassured.RestAssured.given;
import static io.maas.inference.TestModels.toFloats;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import com.google.protobuf.ByteString;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.maas.inference.TestModels;
import io.maas.proto.inference.GRPCInferenceServiceGrpc;
import io.maas.proto.inference.ModelInferRequest;
import io.maas.proto.inference.ModelInferResponse;
import io.maas.testsupport.Await;
import io.maas.testsupport.TinyModelJson;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;

/**
 * The pod's request byte budget over a real gRPC connection: a large request that would take the pod
 * past it is refused while it is read, and the connection's other calls, on the same channel, go on;
 * the REST twin's calls are held to the same budget before their body is read.
 */
@QuarkusTest
@TestProfile(RequestBudgetApiTest.Profile.class)
class RequestBudgetApiTest extends GrpcTestSupport {
    /**
     * ModelInfer as a streaming call: grpc-java flushes a unary call's message only when it half-closes,
     * and these calls must send their message and stay open. On the wire it is the same call.
     */
    private static final MethodDescriptor<ModelInferRequest, ModelInferResponse> HELD_INFER =
            GRPCInferenceServiceGrpc.getModelInferMethod().toBuilder().setType(MethodDescriptor.MethodType.BIDI_STREAMING).build();
    private static final int MIB = 1 << 20;

    public static class Profile implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("maas.max-request-bytes-in-flight", "" + 3 * MIB,
                    "quarkus.grpc.server.max-inbound-message-size", "" + 2 * MIB);
        }
    }

    /** A request for the tiny model whose first input is {@code bytes} long: read whole, then refused by its shape. */
    private static ModelInferRequest large(int bytes) {
        return TestModels.simple("1", 1, 0).toBuilder().setRawInputContents(0, ByteString.copyFrom(new byte[bytes])).build();
    }

    private static double metric(String name) {
        return given().get("/metrics").then().statusCode(200).extract().asString().lines()
                .filter(l -> l.startsWith(name + " ") || l.startsWith(name + "{"))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    @Test
    void aRequestOverTheBudgetIsRefusedAloneAndItsBytesComeBack() throws Exception {
        double refusedBefore = metric("maas_inference_requests_over_budget_total");
        // Two calls whose messages have been sent but which never half-close: the pod holds their bytes,
        // ~3.9 MiB (the second, read alone while the first held less than 3 MiB, may go over).
        List<ClientCall<ModelInferRequest, ModelInferResponse>> held = new ArrayList<>();
        List<CompletableFuture<Status>> heldStatus = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            ClientCall<ModelInferRequest, ModelInferResponse> call = channel.newCall(HELD_INFER,
                    CallOptions.DEFAULT.withDeadlineAfter(60, TimeUnit.SECONDS));
            CompletableFuture<Status> status = new CompletableFuture<>();
            call.start(new ClientCall.Listener<>() {
                @Override
                public void onClose(Status s, Metadata trailers) {
                    status.complete(s);
                }
            }, new Metadata());
            call.request(1);
            call.sendMessage(large(2 * MIB - 4096));
            held.add(call);
            heldStatus.add(status);
            double atLeast = (i + 1) * 1.5 * MIB;
            Await.until("the pod holds large request " + i, () -> metric("maas_inference_requests_held_bytes") >= atLeast);
        }

        // A third is refused, with why, while the two are held.
        assertStatus(Status.Code.RESOURCE_EXHAUSTED, () -> stub().modelInfer(large(2 * MIB - 4096)),
                "MAAS_MAX_REQUEST_BYTES_IN_FLIGHT", "limit of 3.0 MiB", "retry");
        assertEquals(refusedBefore + 1, metric("maas_inference_requests_over_budget_total"));
        // Small calls on the same connection are not touched.
        for (int i = 0; i < 20; i++) {
            assertEquals(1f + i, toFloats(stub().modelInfer(TestModels.simple("1", 1, i)).getRawOutputContents(0))[0]);
        }
        for (CompletableFuture<Status> status : heldStatus) {
            assertFalse(status.isDone(), () -> "a held call ended: " + status.getNow(null));
        }
        // The REST twin shares the budget, checked before the body is read: JSON counts 8 times its size.
        given().contentType("application/json").body(TinyModelJson.request(25_000)).post("/v2/models/simple/infer")
                .then().statusCode(429).body(containsString("MAAS_MAX_REQUEST_BYTES_IN_FLIGHT"), containsString("of JSON"));
        given().contentType("application/json").body(TinyModelJson.request(16)).post("/v2/models/simple/infer").then().statusCode(200);

        // Once the held calls end, their bytes go back and a large request is read again: it reaches the
        // model, which refuses its shape (the caller's mistake, not the budget).
        held.forEach(call -> call.cancel("done", null));
        Await.until("the held bytes come back", () -> metric("maas_inference_requests_held_bytes") == 0);
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> stub().modelInfer(large(2 * MIB - 4096)));
        given().contentType("application/json").body(TinyModelJson.request(25_000)).post("/v2/models/simple/infer").then().statusCode(400);
        Await.until("the REST calls' bytes come back", () -> metric("maas_inference_requests_held_bytes") == 0);
        assertEquals(refusedBefore + 2, metric("maas_inference_requests_over_budget_total"));
    }
}
