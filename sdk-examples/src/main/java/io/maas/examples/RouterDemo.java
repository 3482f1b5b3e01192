package io.maas.examples;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import com.google.protobuf.ByteString;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import io.maas.proto.inference.GRPCInferenceServiceGrpc;
import io.maas.proto.inference.ModelInferRequest;
import io.maas.proto.inference.ModelInferRequest.InferInputTensor;
import io.maas.proto.inference.ModelInferResponse;

/**
 * Sends MiniLM embedding requests through the router with the Java client SDK and shows which
 * version and track answered each one, then the observed split.
 *
 * <pre>java -cp 'target/*:target/lib/*' io.maas.examples.RouterDemo [host:port] [requests] [model]</pre>
 */
public final class RouterDemo {
    private static final Metadata.Key<String> VERSION = Metadata.Key.of("x-maas-model-version",
            Metadata.ASCII_STRING_MARSHALLER);
    private static final Metadata.Key<String> TRACK = Metadata.Key.of("x-maas-track", Metadata.ASCII_STRING_MARSHALLER);

    private RouterDemo() {
    }

    /** The router's API key from MAAS_API_KEY (bin/maas demo sets it from .maas/api-key), sent as x-api-key. */
    static Metadata credentials() {
        Metadata md = new Metadata();
        String key = System.getenv("MAAS_API_KEY");
        if (key != null && !key.isBlank()) {
            md.put(Metadata.Key.of("x-api-key", Metadata.ASCII_STRING_MARSHALLER), key.strip());
        }
        return md;
    }

    public static void main(String[] args) throws InterruptedException {
        String target = args.length > 0 ? args[0] : "localhost:8001";
        int requests = args.length > 1 ? Integer.parseInt(args[1]) : 200;
        String model = args.length > 2 ? args[2] : "minilm";
        ManagedChannel channel = ManagedChannelBuilder.forTarget(target).usePlaintext().build();
        try {
            Map<String, Integer> split = new TreeMap<>();
            ModelInferRequest request = embeddingRequest(model, new long[]{101, 7592, 1010, 2088, 999, 102});
            int failures = 0;
            for (int i = 0; i < requests; i++) {
                AtomicReference<Metadata> headers = new AtomicReference<>();
                AtomicReference<Metadata> trailers = new AtomicReference<>();
                var stub = GRPCInferenceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                        .withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(headers, trailers),
                                MetadataUtils.newAttachHeadersInterceptor(credentials()));
                try {
                    ModelInferResponse response = stub.modelInfer(request);
                    String track = headers.get() == null ? null : headers.get().get(TRACK);
                    String key = "version " + response.getModelVersion() + (track == null ? "" : " (" + track + ")");
                    split.merge(key, 1, Integer::sum);
                    if (i < 5) {
                        System.out.printf("request %d -> %s, output %s %s%n", i, key,
                                response.getOutputs(0).getName(), response.getOutputs(0).getShapeList());
                    }
                } catch (StatusRuntimeException e) {
                    failures++;
                    System.out.printf("request %d failed: %s%n", i, e.getStatus());
                }
            }
            System.out.printf("%nsplit over %d requests to '%s' via %s:%n", requests, model, target);
            split.forEach((k, n) -> System.out.printf("  %-24s %5d  %5.1f%%%n", k, n, 100.0 * n / requests));
            if (failures > 0) {
                System.out.printf("  %-24s %5d%n", "failed", failures);
            }
        } finally {
            channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /** One sentence as token ids, with full attention and a single segment. */
    static ModelInferRequest embeddingRequest(String model, long[] tokenIds) {
        long[] ones = new long[tokenIds.length];
        java.util.Arrays.fill(ones, 1);
        return ModelInferRequest.newBuilder().setModelName(model)
                .addInputs(int64("input_ids", tokenIds.length))
                .addInputs(int64("attention_mask", tokenIds.length))
                .addInputs(int64("token_type_ids", tokenIds.length))
                .addRawInputContents(littleEndian(tokenIds))
                .addRawInputContents(littleEndian(ones))
                .addRawInputContents(littleEndian(new long[tokenIds.length]))
                .build();
    }

    private static InferInputTensor int64(String name, int length) {
        return InferInputTensor.newBuilder().setName(name).setDatatype("INT64").addShape(1).addShape(length).build();
    }

    private static ByteString littleEndian(long[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            b.putLong(v);
        }
        return ByteString.copyFrom(b.array());
    }
}
