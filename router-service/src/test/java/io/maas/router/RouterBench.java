package io.maas.router;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.maas.proto.inference.GRPCInferenceServiceGrpc;
import io.maas.proto.inference.ModelInferRequest;
import io.maas.proto.inference.ModelInferResponse;

/**
 * Closed-loop load on the tiny {@code simple} model: {@code concurrency} callers, each sending
 * its next ModelInfer when the previous one returns, over gRPC or the REST/JSON twin (HTTP/1.1,
 * JDK client). Prints one line: label, calls, calls/s, p50, p99, p99.9 (µs), errors. Run by
 * bench/run.sh; usage: RouterBench LABEL HOST:PORT CONCURRENCY WARMUP_S DURATION_S [grpc|rest]
 */
public final class RouterBench {

    public static void main(String[] args) throws Exception {
        String label = args[0];
        String[] hp = args[1].split(":");
        int concurrency = Integer.parseInt(args[2]);
        int warmup = Integer.parseInt(args[3]);
        int duration = Integer.parseInt(args[4]);
        boolean rest = args.length > 5 && args[5].equals("rest");
        ManagedChannel ch = NettyChannelBuilder.forAddress(hp[0], Integer.parseInt(hp[1])).usePlaintext().directExecutor().build();
        // -Dbench.header="name: value": a credential sent on every call (bench/auth.sh)
        String header = System.getProperty("bench.header", "");
        var stub = GRPCInferenceServiceGrpc.newStub(ch);
        if (!header.isEmpty()) {
            io.grpc.Metadata md = new io.grpc.Metadata();
            md.put(io.grpc.Metadata.Key.of(header.substring(0, header.indexOf(':')).strip(), io.grpc.Metadata.ASCII_STRING_MARSHALLER),
                    header.substring(header.indexOf(':') + 1).strip());
            stub = stub.withInterceptors(io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(md));
        }
        // -Dbench.model=minilm: MiniLM fp32, [1,128] INT64 x 3 in (3 KB), [1,128,384] FP32 out (196 KB)
        String model = System.getProperty("bench.model", "simple");
        Caller caller = rest ? rest(args[1]) : grpc(stub, model.equals("minilm") ? miniLM() : RouterTest.request("1"));
        run(caller, concurrency, warmup, null);
        long[] lat = new long[20_000_000];
        int[] n = new int[1];
        int[] errors = new int[1];
        long t0 = System.nanoTime();
        run(caller, concurrency, duration, (nanos, ok) -> {
            synchronized (lat) {
                if (!ok) {
                    errors[0]++;
                } else if (n[0] < lat.length) {
                    lat[n[0]++] = nanos;
                }
            }
        });
        double secs = (System.nanoTime() - t0) / 1e9;
        long[] s = Arrays.copyOf(lat, n[0]);
        Arrays.sort(s);
        System.out.printf("%s\tc=%d\tcalls=%d\trps=%.0f\tp50_us=%.0f\tp99_us=%.0f\tp999_us=%.0f\terrors=%d%n", label, concurrency,
                s.length, s.length / secs, pct(s, 0.50) / 1e3, pct(s, 0.99) / 1e3, pct(s, 0.999) / 1e3, errors[0]);
        ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    interface Sink {
        void record(long nanos, boolean ok);
    }

    /** Sends one call and reports its outcome (true = OK) to {@code done}. */
    interface Caller {
        void call(Consumer<Boolean> done);
    }

    static Caller grpc(GRPCInferenceServiceGrpc.GRPCInferenceServiceStub stub, ModelInferRequest req) {
        return done -> stub.withDeadlineAfter(10, TimeUnit.SECONDS).modelInfer(req, new StreamObserver<ModelInferResponse>() {
            @Override
            public void onNext(ModelInferResponse value) {
            }

            @Override
            public void onError(Throwable t) {
                done.accept(false);
            }

            @Override
            public void onCompleted() {
                done.accept(true);
            }
        });
    }

    /** A MiniLM request of 128 tokens ([CLS], real WordPiece ids, [SEP]), version 1 (fp32). */
    static ModelInferRequest miniLM() {
        int tokens = 128;
        long[][] inputs = new long[3][tokens];
        long[] words = {2023, 2003, 1037, 6251, 2055, 1996, 2799, 1997, 5791, 1012};
        for (int i = 0; i < tokens; i++) {
            inputs[0][i] = i == 0 ? 101 : i == tokens - 1 ? 102 : words[i % words.length];
            inputs[1][i] = 1;
        }
        ModelInferRequest.Builder b = ModelInferRequest.newBuilder().setModelName("minilm").setModelVersion("1");
        String[] names = {"input_ids", "attention_mask", "token_type_ids"};
        for (int n = 0; n < 3; n++) {
            b.addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName(names[n]).setDatatype("INT64")
                    .addShape(1).addShape(tokens));
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(tokens * 8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (long v : inputs[n]) {
                buf.putLong(v);
            }
            b.addRawInputContents(com.google.protobuf.ByteString.copyFrom(buf.array()));
        }
        return b.build();
    }

    /** The same request as JSON on the REST twin ({@link RouterTest#jsonRequest}). */
    static Caller rest(String hostPort) {
        String body = RouterTest.jsonRequest();
        HttpClient http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1).build();
        HttpRequest request = HttpRequest.newBuilder(
                        URI.create("http://" + hostPort + "/v2/models/simple/versions/1/infer"))
                .timeout(Duration.ofSeconds(10)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        return done -> http.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray())
                .whenComplete((r, e) -> done.accept(e == null && r.statusCode() == 200));
    }

    static double pct(long[] sorted, double q) {
        return sorted.length == 0 ? 0 : sorted[(int) Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
    }

    static void run(Caller caller, int concurrency, int seconds, Sink sink) throws InterruptedException {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        CountDownLatch done = new CountDownLatch(concurrency);
        AtomicBoolean stop = new AtomicBoolean();
        for (int i = 0; i < concurrency; i++) {
            new Object() {
                void next() {
                    if (stop.get() || System.nanoTime() > end) {
                        done.countDown();
                        return;
                    }
                    long start = System.nanoTime();
                    caller.call(ok -> {
                        if (sink != null) {
                            sink.record(System.nanoTime() - start, ok);
                        }
                        next();
                    });
                }
            }.next();
        }
        done.await(seconds + 60L, TimeUnit.SECONDS);
        stop.set(true);
    }
}
