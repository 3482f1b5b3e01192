package io.maas.benchmarks;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import com.google.protobuf.ByteString;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.grpc.stub.StreamObserver;
import io.maas.proto.inference.GRPCInferenceServiceGrpc;
import io.maas.proto.inference.InferTensorContents;
import io.maas.proto.inference.ModelInferRequest;
import io.maas.proto.inference.ModelInferResponse;

/**
 * Text to embedding, in one run: the minilm-embed pipeline served over gRPC (tokenizer step ->
 * MiniLM fp32 -> pooling step), with ragged batching on and off, against the same tokenizer
 * (DJL), ONNX Runtime session and mean pooling called in this JVM with the same ORT threads; all at
 * the same concurrency on the same sentences of mixed lengths. Also the cost of the tokenizer and
 * pooling per call, in-process and as the service measured it (its compute metrics).
 *
 * <pre>java -cp 'benchmarks/target/maas-benchmarks.jar' io.maas.benchmarks.TextBench [--concurrency 32]
 *      [--duration 10] [--warmup 4] [--threads 2] [--instances 1] [--repository models/target/repository]
 *      [--service-jar inference-service/target/quarkus-app/quarkus-run.jar]</pre>
 */
public final class TextBench {
    /** Sentences of 5 to about 60 tokens, as a search or support workload sends them. */
    static final List<String> SENTENCES = List.of(
            "what a lovely day",
            "How do I reset my password?",
            "The train to Berlin is delayed by twenty minutes because of a signal failure near Hanover.",
            "refund please",
            "I was charged twice for my subscription this month and would like the second payment back.",
            "Does the hotel have parking?",
            "The application crashes with an out of memory error whenever I upload a photo larger than"
                    + " ten megabytes from my phone, both on Wi-Fi and on mobile data, since the last update.",
            "Best pasta recipe with tomatoes and basil",
            "Our team won the final in extra time after a penalty in the last minute of the match.",
            "cheap flights to Lisbon in May",
            "Can you explain the difference between the standard and the premium plan, and whether I can"
                    + " switch later without losing my saved settings and history?",
            "It is raining again.");

    private TextBench() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new java.util.HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            a.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        int concurrency = Integer.parseInt(a.getOrDefault("concurrency", "32"));
        double duration = Double.parseDouble(a.getOrDefault("duration", "10"));
        double warmup = Double.parseDouble(a.getOrDefault("warmup", "4"));
        int threads = Integer.parseInt(a.getOrDefault("threads", "2"));
        int instances = Integer.parseInt(a.getOrDefault("instances", "1"));
        Path repo = Path.of(a.getOrDefault("repository", "models/target/repository"));
        Path jar = Path.of(a.getOrDefault("service-jar", "inference-service/target/quarkus-app/quarkus-run.jar"));
        Path tokenizerFile = repo.resolve("minilm-tokenizer/1/tokenizer.json");
        Path model = repo.resolve("minilm/1/model.onnx");
        for (Path p : List.of(tokenizerFile, model, jar)) {
            if (!Files.isRegularFile(p)) {
                throw new IllegalStateException(p + " is missing: build models and inference-service first");
            }
        }
        System.out.printf(Locale.ROOT, "# text -> embedding (minilm-embed), %d sentences of mixed length, concurrency"
                + " %d, ORT intra-op threads %d, served minilm instances %d, warm-up %.0f s, measured %.0f s, %d cores%n",
                SENTENCES.size(), concurrency, threads, instances, warmup, duration, Runtime.getRuntime().availableProcessors());

        Options o = Options.parse(new String[]{"--threads", Integer.toString(threads)}, Map.of());
        Path work = Files.createTempDirectory("maas-textbench-");
        Measurement.Result inProcess;
        double tokenizeMicros;
        double poolMicros;
        try (InProcess baseline = new InProcess(tokenizerFile, model, threads)) {
            tokenizeMicros = baseline.tokenizeMicros();
            poolMicros = baseline.poolMicros();
            inProcess = baseline.measure(concurrency, warmup, duration);
        }
        System.out.printf(Locale.ROOT, "in-process (DJL + ORT + pooling)   %8.1f embeddings/s  p50 %7.0f us  p99 %7.0f us%n",
                inProcess.throughput(), inProcess.p50Micros(), inProcess.p99Micros());

        Measurement.Result batched;
        Measurement.Result unbatched;
        double servedTokenize;
        double servedPool;
        try (ServiceProcess on = ServiceProcess.start(jar, repository(work.resolve("on"), repo, true, instances), List.of("minilm-embed"),
                o, work.resolve("service-batching-on.log"), 0)) {
            batched = load(on, concurrency, warmup, duration);
            servedTokenize = meanComputeMicros(on, "minilm-tokenizer");
            servedPool = meanComputeMicros(on, "mean-pooling");
        }
        System.out.printf(Locale.ROOT, "served, ragged batching on         %8.1f embeddings/s  p50 %7.0f us  p99 %7.0f us%s%n",
                batched.throughput(), batched.p50Micros(), batched.p99Micros(), errors(batched));
        try (ServiceProcess off = ServiceProcess.start(jar, repository(work.resolve("off"), repo, false, instances),
                List.of("minilm-embed"), o, work.resolve("service-batching-off.log"), 0)) {
            unbatched = load(off, concurrency, warmup, duration);
        }
        System.out.printf(Locale.ROOT, "served, batching off               %8.1f embeddings/s  p50 %7.0f us  p99 %7.0f us%s%n",
                unbatched.throughput(), unbatched.p50Micros(), unbatched.p99Micros(), errors(unbatched));
        System.out.printf(Locale.ROOT, "%nserved (batching on) / in-process: %.2f%n", batched.throughput() / inProcess.throughput());
        System.out.printf(Locale.ROOT, "ragged batching on / off:          %.2f%n", batched.throughput() / unbatched.throughput());
        System.out.printf(Locale.ROOT, "tokenizer per call: %.1f us in-process, %.1f us in the service (its compute metric)%n",
                tokenizeMicros, servedTokenize);
        System.out.printf(Locale.ROOT, "pooling per call:   %.1f us in-process, %.1f us in the service%n", poolMicros, servedPool);
        System.out.println("# service logs: " + work);
    }

    private static String errors(Measurement.Result r) {
        return r.errors() == 0 ? "" : "  (" + r.errors() + " errors, first: " + r.firstError() + ")";
    }

    /** The text pipeline and its steps linked from the built repository; minilm with ragged batching on or off. */
    static Path repository(Path dir, Path source, boolean batching, int instances) throws Exception {
        Files.createDirectories(dir);
        for (String m : List.of("minilm-embed", "minilm-tokenizer", "mean-pooling")) {
            Files.createSymbolicLink(dir.resolve(m), source.resolve(m).toAbsolutePath());
        }
        Path v1 = Files.createDirectories(dir.resolve("minilm/1"));
        Files.createSymbolicLink(v1.resolve("model.onnx"), source.resolve("minilm/1/model.onnx").toAbsolutePath());
        String config = Files.readString(source.resolve("minilm/config.pbtxt"));
        if (!batching) {
            config = config.replaceAll("(?s)dynamic_batching \\{.*?\\n\\}\\n", "");
        }
        config = config.replaceAll("count: \\d+", "count: " + instances);
        Files.writeString(dir.resolve("minilm/config.pbtxt"), config);
        return dir;
    }

    static ModelInferRequest request(String text) {
        return ModelInferRequest.newBuilder().setModelName("minilm-embed")
                .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("TEXT").setDatatype("BYTES")
                        .addShape(1).addShape(1).setContents(InferTensorContents.newBuilder()
                                .addBytesContents(ByteString.copyFromUtf8(text))))
                .build();
    }

    /** Closed loop: each of N calls in flight sends the next sentence when it completes. */
    static Measurement.Result load(ServiceProcess service, int concurrency, double warmup, double duration)
            throws Exception {
        List<ModelInferRequest> requests = SENTENCES.stream().map(TextBench::request).toList();
        var stub = GRPCInferenceServiceGrpc.newStub(service.channel());
        Measurement m = new Measurement();
        CountDownLatch drained = new CountDownLatch(concurrency);
        AtomicInteger next = new AtomicInteger();
        for (int i = 0; i < concurrency; i++) {
            send(stub, requests, next, m, drained);
        }
        m.run(warmup, duration);
        if (!drained.await(120, TimeUnit.SECONDS)) {
            throw new IllegalStateException("calls still in flight 120 s after the measurement ended");
        }
        return m.result();
    }

    private static void send(GRPCInferenceServiceGrpc.GRPCInferenceServiceStub stub, List<ModelInferRequest> requests,
                             AtomicInteger next, Measurement m, CountDownLatch drained) {
        if (m.stopped()) {
            drained.countDown();
            return;
        }
        long start = System.nanoTime();
        stub.modelInfer(requests.get(Math.floorMod(next.getAndIncrement(), requests.size())), new StreamObserver<>() {
            @Override
            public void onNext(ModelInferResponse r) {
                if (r.getRawOutputContents(0).size() != 384 * 4) {
                    m.failed("embedding of " + r.getRawOutputContents(0).size() + " bytes");
                }
            }

            @Override
            public void onError(Throwable t) {
                m.failed(t.toString());
                if (m.errors() > 1000) {
                    drained.countDown();
                    return;
                }
                send(stub, requests, next, m, drained);
            }

            @Override
            public void onCompleted() {
                m.completed(start);
                send(stub, requests, next, m, drained);
            }
        });
    }

    /** Mean compute time per call of a step model, from the service's Prometheus metrics. */
    static double meanComputeMicros(ServiceProcess service, String model) throws Exception {
        String metrics = service.metrics();
        double sum = 0;
        double count = 0;
        for (String line : metrics.lines().toList()) {
            if (line.contains("model=\"" + model + "\"")) {
                double v = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                if (line.startsWith("maas_inference_compute_seconds_sum{")) {
                    sum += v;
                } else if (line.startsWith("maas_inference_compute_seconds_count{")) {
                    count += v;
                }
            }
        }
        return count == 0 ? Double.NaN : sum / count * 1e6;
    }

    /** The same tokenizer, ORT session options and pooling as the served pipeline, called in this JVM. */
    static final class InProcess implements AutoCloseable {
        private final OrtEnvironment env = OrtEnvironment.getEnvironment();
        private final HuggingFaceTokenizer tokenizer;
        private final OrtSession session;

        InProcess(Path tokenizerFile, Path model, int threads) throws Exception {
            tokenizer = HuggingFaceTokenizer.builder().optTokenizerPath(tokenizerFile).optAddSpecialTokens(true)
                    .optTruncation(true).optMaxLength(256).optPadding(false).build();
            try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
                options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
                options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
                options.setInterOpNumThreads(1);
                options.setIntraOpNumThreads(threads);
                session = env.createSession(model.toString(), options);
            }
        }

        float[] embed(String text) throws Exception {
            Encoding e = tokenizer.encode(text);
            long[] shape = {1, e.getIds().length};
            try (OnnxTensor ids = OnnxTensor.createTensor(env, LongBuffer.wrap(e.getIds()), shape);
                 OnnxTensor mask = OnnxTensor.createTensor(env, LongBuffer.wrap(e.getAttentionMask()), shape);
                 OnnxTensor types = OnnxTensor.createTensor(env, LongBuffer.wrap(e.getTypeIds()), shape);
                 OrtSession.Result r = session.run(Map.of("input_ids", ids, "attention_mask", mask,
                         "token_type_ids", types))) {
                FloatBuffer hidden = ((OnnxTensor) r.get("last_hidden_state").orElseThrow()).getFloatBuffer();
                return pool(hidden, e.getAttentionMask());
            }
        }

        static float[] pool(FloatBuffer hidden, long[] mask) {
            float[] sum = new float[384];
            float count = 0;
            for (int p = 0; p < mask.length; p++) {
                if (mask[p] == 0) {
                    continue;
                }
                count += mask[p];
                for (int h = 0; h < 384; h++) {
                    sum[h] += hidden.get(p * 384 + h);
                }
            }
            double norm = 0;
            for (int h = 0; h < 384; h++) {
                sum[h] /= Math.max(count, 1e-9f);
                norm += (double) sum[h] * sum[h];
            }
            float scale = (float) (1 / Math.max(Math.sqrt(norm), 1e-12));
            for (int h = 0; h < 384; h++) {
                sum[h] *= scale;
            }
            return sum;
        }

        /** Mean tokenizer time per sentence, over many passes (after a warm-up). */
        double tokenizeMicros() {
            for (int i = 0; i < 2000; i++) {
                tokenizer.encode(SENTENCES.get(i % SENTENCES.size()));
            }
            int n = 20_000;
            long start = System.nanoTime();
            for (int i = 0; i < n; i++) {
                tokenizer.encode(SENTENCES.get(i % SENTENCES.size()));
            }
            return (System.nanoTime() - start) / 1e3 / n;
        }

        /** Mean pooling time per call on token embeddings of a 32-token sentence. */
        double poolMicros() {
            FloatBuffer hidden = ByteBuffer.allocateDirect(32 * 384 * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
            long[] mask = new long[32];
            java.util.Arrays.fill(mask, 1);
            float sink = 0;
            for (int i = 0; i < 20_000; i++) {
                sink += pool(hidden, mask)[0];
            }
            int n = 100_000;
            long start = System.nanoTime();
            for (int i = 0; i < n; i++) {
                sink += pool(hidden, mask)[0];
            }
            double micros = (System.nanoTime() - start) / 1e3 / n;
            return sink == 42 ? micros + 1e-9 : micros;
        }

        Measurement.Result measure(int concurrency, double warmup, double duration) throws Exception {
            Measurement m = new Measurement();
            List<Thread> workers = new ArrayList<>();
            AtomicInteger next = new AtomicInteger();
            for (int i = 0; i < concurrency; i++) {
                Thread t = new Thread(() -> {
                    while (!m.stopped()) {
                        long start = System.nanoTime();
                        try {
                            embed(SENTENCES.get(Math.floorMod(next.getAndIncrement(), SENTENCES.size())));
                            m.completed(start);
                        } catch (Exception e) {
                            m.failed(e.toString());
                        }
                    }
                }, "in-process-" + i);
                t.start();
                workers.add(t);
            }
            m.run(warmup, duration);
            for (Thread t : workers) {
                t.join();
            }
            return m.result();
        }

        @Override
        public void close() throws Exception {
            session.close();
            tokenizer.close();
        }
    }
}
