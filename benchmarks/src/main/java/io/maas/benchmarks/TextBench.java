package io.maas.benchmarks;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import com.google.protobuf.ByteString;

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
 * MiniLM fp32 -> pooling step) against the same tokenizer (DJL), ONNX Runtime session and mean pooling
 * called in this JVM, with the same threads: as many session.run calls at once as the service has
 * minilm workers, each with the same intra-op threads; all at the same concurrency on the same
 * sentences of mixed lengths, in interleaved rounds (medians reported, and CPU per call, since the
 * machine is shared). Served modes: unbatched (no dynamic_batching), batched (equal lengths only),
 * ragged (any lengths, padded to the longest) and bucketed (ragged within ragged_batch_max_padding).
 * Also the tokenizer's and pooling's own cost per request: in a tight loop here, and inside the service
 * under load (its maas_inference_step_cpu_seconds).
 *
 * <pre>java -cp 'benchmarks/target/maas-benchmarks.jar' io.maas.benchmarks.TextBench [--concurrency 32]
 *      [--rounds 3] [--duration 5] [--warmup 2] [--threads 1] [--instances 2]
 *      [--modes unbatched,batched,ragged,bucketed] [--max-padding 0.25] [--server-jvm-opts "..."]
 *      [--repository models/target/repository] [--service-jar inference-service/target/quarkus-app/quarkus-run.jar]</pre>
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

    /** One measured cell of one round: its throughput, latencies and CPU per completed call. */
    record Cell(Measurement.Result result, double serviceCpuMicros, double clientCpuMicros, double tokenizerCpuMicros,
                double poolingCpuMicros) {
        double cpuMicros() {
            return serviceCpuMicros + clientCpuMicros;
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new java.util.HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            a.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        int concurrency = Integer.parseInt(a.getOrDefault("concurrency", "32"));
        double duration = Double.parseDouble(a.getOrDefault("duration", "5"));
        double warmup = Double.parseDouble(a.getOrDefault("warmup", "2"));
        int rounds = Integer.parseInt(a.getOrDefault("rounds", "3"));
        int threads = Integer.parseInt(a.getOrDefault("threads", "1"));
        int instances = Integer.parseInt(a.getOrDefault("instances", "2"));
        List<String> modes = List.of(a.getOrDefault("modes", "unbatched,ragged,bucketed").split(","));
        String maxPadding = a.getOrDefault("max-padding", "0.25");
        List<String> jvmOpts = a.getOrDefault("server-jvm-opts", "").isBlank() ? List.of()
                : List.of(a.get("server-jvm-opts").trim().split("\\s+"));
        Path repo = Path.of(a.getOrDefault("repository", "models/target/repository"));
        Path jar = Path.of(a.getOrDefault("service-jar", "inference-service/target/quarkus-app/quarkus-run.jar"));
        Path tokenizerFile = repo.resolve("minilm-tokenizer/1/tokenizer.json");
        Path model = repo.resolve("minilm/1/model.onnx");
        for (Path p : List.of(tokenizerFile, model, jar)) {
            if (!Files.isRegularFile(p)) {
                throw new IllegalStateException(p + " is missing: build models and inference-service first");
            }
        }
        for (String mode : modes) {
            if (!SERVED_MODES.contains(mode)) {
                throw new IllegalArgumentException("--modes takes " + SERVED_MODES + ", not '" + mode + "'");
            }
        }
        System.out.printf(Locale.ROOT, "# text -> embedding (minilm-embed), %d sentences of 4 to 60 tokens, concurrency %d,"
                + " %d interleaved rounds of %.0f s (+%.0f s warm-up), %d cores, load average %.2f%n",
                SENTENCES.size(), concurrency, rounds, duration, warmup, Runtime.getRuntime().availableProcessors(),
                ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        System.out.printf(Locale.ROOT, "# same threads on both sides: %d ONNX Runtime run(s) at once (served: minilm"
                + " instance_group count %d; in-process: %d permit(s) around session.run), %d intra-op thread(s) each;"
                + " tokenizer and pooling on the calling threads (in-process: the %d callers; served: gRPC event loops"
                + " and the pipeline-steps pool)%n", instances, instances, instances, threads, concurrency);

        // The step costs first, on an idle machine as far as this run goes.
        StepCost steps = StepCost.measure(tokenizerFile);
        System.out.printf(Locale.ROOT, "tokenizer step, in-process: %.1f us per request (CPU %.1f us)%n",
                steps.tokenizeMicros(), steps.tokenizeCpuMicros());
        System.out.printf(Locale.ROOT, "pooling step, in-process:   %.1f us per request (CPU %.1f us)%n",
                steps.poolMicros(), steps.poolCpuMicros());

        Options o = Options.parse(new String[]{"--threads", Integer.toString(threads)}, Map.of());
        Path work = Files.createTempDirectory("maas-textbench-");
        Map<String, ServiceProcess> services = new LinkedHashMap<>();
        Map<String, List<Cell>> cells = new LinkedHashMap<>();
        try (InProcess baseline = new InProcess(tokenizerFile, model, threads, instances)) {
            for (String mode : modes) {
                services.put(mode, ServiceProcess.start(jar, repository(work.resolve(mode), repo, mode, instances, threads, maxPadding),
                        List.of("minilm-embed"), o, work.resolve("service-" + mode + ".log"), 0, jvmOpts, Map.of()));
            }
            List<String> order = new ArrayList<>();
            order.add("in-process");
            order.addAll(modes);
            for (int r = 0; r < rounds; r++) {
                for (String cell : order) {
                    double w = r == 0 ? warmup * 2 : warmup;
                    Cell c = cell.equals("in-process") ? baseline.measure(concurrency, w, duration)
                            : load(services.get(cell), concurrency, w, duration);
                    cells.computeIfAbsent(cell, k -> new ArrayList<>()).add(c);
                    System.out.printf(Locale.ROOT, "round %d  %-11s %8.1f embeddings/s  p50 %7.0f us  p99 %7.0f us"
                            + "  CPU per call %6.0f us (service %6.0f, client %5.0f)%s%s%n", r + 1, cell,
                            c.result().throughput(), c.result().p50Micros(), c.result().p99Micros(), c.cpuMicros(),
                            c.serviceCpuMicros(), c.clientCpuMicros(), Double.isNaN(c.tokenizerCpuMicros()) ? ""
                                    : String.format(Locale.ROOT, "  steps' CPU: tokenizer %.1f us, pooling %.1f us",
                                    c.tokenizerCpuMicros(), c.poolingCpuMicros()), errors(c.result()));
                }
            }
            // The steps' compute time inside the service, one call at a time (no queueing for a core behind
            // other calls of this service): the mean of their maas_inference_compute_seconds over the calls.
            if (!services.isEmpty()) {
                ServiceProcess s = services.values().iterator().next();
                double[] before = {meanCompute(s, "minilm-tokenizer")[0], meanCompute(s, "minilm-tokenizer")[1],
                        meanCompute(s, "mean-pooling")[0], meanCompute(s, "mean-pooling")[1]};
                load(s, 1, 1, 3);
                double[] tok = meanCompute(s, "minilm-tokenizer");
                double[] pool = meanCompute(s, "mean-pooling");
                System.out.printf(Locale.ROOT, "tokenizer step in the service at concurrency 1: %.1f us per request"
                        + " (its compute metric)%n", (tok[0] - before[0]) / (tok[1] - before[1]) * 1e6);
                System.out.printf(Locale.ROOT, "pooling step in the service at concurrency 1:   %.1f us per request%n",
                        (pool[0] - before[2]) / (pool[1] - before[3]) * 1e6);
            }
        } finally {
            for (ServiceProcess s : services.values()) {
                s.close();
            }
        }
        System.out.println();
        List<Cell> in = cells.get("in-process");
        System.out.printf(Locale.ROOT, "in-process     median %8.1f embeddings/s, CPU per call %6.0f us%n",
                median(in, c -> c.result().throughput()), median(in, Cell::cpuMicros));
        for (String mode : modes) {
            List<Cell> served = cells.get(mode);
            System.out.printf(Locale.ROOT, "%-14s median %8.1f embeddings/s, CPU per call %6.0f us (service %6.0f,"
                    + " client %5.0f); served/in-process per round %s, median %.2f%n", mode,
                    median(served, c -> c.result().throughput()), median(served, Cell::cpuMicros),
                    median(served, Cell::serviceCpuMicros), median(served, Cell::clientCpuMicros),
                    perRound(served, in), medianRatio(served, in));
            System.out.printf(Locale.ROOT, "%-14s steps' own CPU per request in the service (maas_inference_step_cpu_seconds,"
                    + " median of rounds): tokenizer %.1f us, pooling %.1f us%n", "", median(served, Cell::tokenizerCpuMicros),
                    median(served, Cell::poolingCpuMicros));
        }
        if (cells.containsKey("unbatched")) {
            for (String mode : modes) {
                if (!mode.equals("unbatched")) {
                    System.out.printf(Locale.ROOT, "%s / unbatched per round %s, median %.2f%n", mode,
                            perRound(cells.get(mode), cells.get("unbatched")),
                            medianRatio(cells.get(mode), cells.get("unbatched")));
                }
            }
        }
        System.out.printf(Locale.ROOT, "load average at the end %.2f; service logs: %s%n",
                ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(), work);
    }

    /** unbatched: no dynamic_batching; ragged: joins calls of any length; bucketed: joins within a padding limit. */
    static final List<String> SERVED_MODES = List.of("unbatched", "batched", "ragged", "bucketed");

    private static double median(List<Cell> cells, java.util.function.ToDoubleFunction<Cell> f) {
        double[] v = cells.stream().mapToDouble(f).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static String perRound(List<Cell> a, List<Cell> b) {
        List<String> r = new ArrayList<>();
        for (int i = 0; i < a.size(); i++) {
            r.add(String.format(Locale.ROOT, "%.2f", a.get(i).result().throughput() / b.get(i).result().throughput()));
        }
        return String.join(" / ", r);
    }

    private static double medianRatio(List<Cell> a, List<Cell> b) {
        double[] v = new double[a.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = a.get(i).result().throughput() / b.get(i).result().throughput();
        }
        java.util.Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    /** This JVM's CPU time so far, in nanoseconds. */
    static long ownCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    /** A process's CPU time so far, in nanoseconds. */
    static long cpuNanos(long pid) {
        return ProcessHandle.of(pid).flatMap(h -> h.info().totalCpuDuration()).map(java.time.Duration::toNanos)
                .orElse(0L);
    }

    private static String errors(Measurement.Result r) {
        return r.errors() == 0 ? "" : "  (" + r.errors() + " errors, first: " + r.firstError() + ")";
    }

    /**
     * The text pipeline and its steps linked from the built repository; minilm with {@code instances}
     * workers and, by mode, no dynamic batching, batching of equal lengths only, ragged batching, or
     * ragged batching within a padding limit.
     */
    static Path repository(Path dir, Path source, String mode, int instances, int threads, String maxPadding)
            throws Exception {
        Files.createDirectories(dir);
        for (String m : List.of("minilm-embed", "minilm-tokenizer", "mean-pooling")) {
            Files.createSymbolicLink(dir.resolve(m), source.resolve(m).toAbsolutePath());
        }
        Path v1 = Files.createDirectories(dir.resolve("minilm/1"));
        Files.createSymbolicLink(v1.resolve("model.onnx"), source.resolve("minilm/1/model.onnx").toAbsolutePath());
        // The repository's config, with its batching, ragged and thread settings replaced by this run's.
        String config = Files.readString(source.resolve("minilm/config.pbtxt"))
                .replace(", allow_ragged_batch: true", "")
                .replaceAll("(?m)^parameters \\{ key: \"(ragged_batch_max_padding|intra_op_thread_count)\".*\\n", "");
        if (mode.equals("unbatched")) {
            config = config.replaceAll("(?s)dynamic_batching \\{.*?\\n\\}\\n", "");
        }
        if (mode.equals("ragged") || mode.equals("bucketed")) {
            config = config.replace("dims: [ -1 ] }", "dims: [ -1 ], allow_ragged_batch: true }");
        }
        if (mode.equals("bucketed")) {
            config += "parameters { key: \"ragged_batch_max_padding\", value: { string_value: \"" + maxPadding + "\" } }\n";
        }
        config += "parameters { key: \"intra_op_thread_count\", value: { string_value: \"" + threads + "\" } }\n";
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
    static Cell load(ServiceProcess service, int concurrency, double warmup, double duration) throws Exception {
        List<ModelInferRequest> requests = SENTENCES.stream().map(TextBench::request).toList();
        var stub = GRPCInferenceServiceGrpc.newStub(service.channel());
        Measurement m = new Measurement();
        CountDownLatch drained = new CountDownLatch(concurrency);
        AtomicInteger next = new AtomicInteger();
        for (int i = 0; i < concurrency; i++) {
            send(stub, requests, next, m, drained);
        }
        long[] cpu = new long[4];
        double[][] steps = new double[2][];
        m.run(warmup, duration, () -> {
            steps[0] = stepCpu(service);
            cpu[0] = cpuNanos(service.pid());
            cpu[1] = ownCpuNanos();
        }, () -> {
            cpu[2] = cpuNanos(service.pid());
            cpu[3] = ownCpuNanos();
            steps[1] = stepCpu(service);
        });
        if (!drained.await(120, TimeUnit.SECONDS)) {
            throw new IllegalStateException("calls still in flight 120 s after the measurement ended");
        }
        Measurement.Result r = m.result();
        return new Cell(r, (cpu[2] - cpu[0]) / 1e3 / Math.max(1, r.calls()), (cpu[3] - cpu[1]) / 1e3 / Math.max(1, r.calls()),
                (steps[1][0] - steps[0][0]) / (steps[1][1] - steps[0][1]) * 1e6,
                (steps[1][2] - steps[0][2]) / (steps[1][3] - steps[0][3]) * 1e6);
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

    /** Sum (seconds) and count of maas_inference_step_cpu_seconds of the tokenizer, then of the pooling step. */
    static double[] stepCpu(ServiceProcess service) {
        try {
            String metrics = service.metrics();
            double[] t = sumAndCount(metrics, "maas_inference_step_cpu_seconds", "minilm-tokenizer");
            double[] p = sumAndCount(metrics, "maas_inference_step_cpu_seconds", "mean-pooling");
            return new double[]{t[0], t[1], p[0], p[1]};
        } catch (Exception e) {
            throw new IllegalStateException("cannot read the service's metrics: " + e, e);
        }
    }

    /** The sum (seconds) and count of a step model's maas_inference_compute_seconds, from the service's metrics. */
    static double[] meanCompute(ServiceProcess service, String model) throws Exception {
        return sumAndCount(service.metrics(), "maas_inference_compute_seconds", model);
    }

    private static double[] sumAndCount(String metrics, String name, String model) {
        double sum = 0;
        double count = 0;
        for (String line : metrics.lines().toList()) {
            if (line.contains("model=\"" + model + "\"")) {
                double v = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                if (line.startsWith(name + "_sum{")) {
                    sum += v;
                } else if (line.startsWith(name + "_count{")) {
                    count += v;
                }
            }
        }
        return new double[]{sum, count};
    }

    /**
     * The tokenizer and pooling steps' own cost per request, one request at a time on one thread: the
     * work the service's steps do (strict UTF-8 decode, HuggingFace's encode read for ids, mask and type ids, three INT64 tensors packed into direct
     * buffers; mean over the mask and L2 norm over a little-endian [1, tokens, 384] buffer), in wall time
     * and in this thread's CPU time.
     */
    record StepCost(double tokenizeMicros, double tokenizeCpuMicros, double poolMicros, double poolCpuMicros) {
        static StepCost measure(Path tokenizerFile) throws Exception {
            java.lang.management.ThreadMXBean mx = ManagementFactory.getThreadMXBean();
            List<byte[]> texts = SENTENCES.stream().map(t -> t.getBytes(java.nio.charset.StandardCharsets.UTF_8)).toList();
            try (HuggingFaceTokenizer tokenizer = InProcess.tokenizer(tokenizerFile)) {
                List<ByteBuffer> hidden = new ArrayList<>();
                List<ByteBuffer> masks = new ArrayList<>();
                for (String s : SENTENCES) {
                    int n = tokenizer.encode(s).getIds().length;
                    ByteBuffer h = ByteBuffer.allocateDirect(n * 384 * 4).order(ByteOrder.LITTLE_ENDIAN);
                    for (int i = 0; i < n * 384; i++) {
                        h.putFloat(i * 4, (float) Math.sin(i));
                    }
                    ByteBuffer mk = ByteBuffer.allocateDirect(n * 8).order(ByteOrder.LITTLE_ENDIAN);
                    for (int i = 0; i < n; i++) {
                        mk.putLong(i * 8, 1);
                    }
                    hidden.add(h);
                    masks.add(mk);
                }
                long sink = 0;
                for (int i = 0; i < 3000; i++) {
                    sink += tokenize(tokenizer, texts.get(i % texts.size()));
                }
                int n = 12_000;
                long cpu = mx.getCurrentThreadCpuTime();
                long start = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    sink += tokenize(tokenizer, texts.get(i % texts.size()));
                }
                double tokWall = (System.nanoTime() - start) / 1e3 / n;
                double tokCpu = (mx.getCurrentThreadCpuTime() - cpu) / 1e3 / n;
                for (int i = 0; i < 20_000; i++) {
                    sink += pool(hidden.get(i % hidden.size()), masks.get(i % masks.size()));
                }
                n = 60_000;
                cpu = mx.getCurrentThreadCpuTime();
                start = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    sink += pool(hidden.get(i % hidden.size()), masks.get(i % masks.size()));
                }
                double poolWall = (System.nanoTime() - start) / 1e3 / n;
                double poolCpu = (mx.getCurrentThreadCpuTime() - cpu) / 1e3 / n;
                return sink == 42 ? new StepCost(0, 0, 0, 0) : new StepCost(tokWall, tokCpu, poolWall, poolCpu);
            }
        }

        private static long tokenize(HuggingFaceTokenizer tokenizer, byte[] utf8) throws Exception {
            String text = java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(utf8)).toString();
            // As the step does: only ids, mask and type ids are read from HuggingFace's encoding.
            var lib = ai.djl.huggingface.tokenizers.jni.TokenizersLibrary.LIB;
            long encoding = lib.encode(tokenizer.getHandle(), text, true);
            long[][] fields;
            try {
                fields = new long[][]{lib.getTokenIds(encoding), lib.getAttentionMask(encoding), lib.getTypeIds(encoding)};
            } finally {
                lib.deleteEncoding(encoding);
            }
            long sum = 0;
            for (long[] f : fields) {
                ByteBuffer b = ByteBuffer.allocateDirect(f.length * 8).order(ByteOrder.LITTLE_ENDIAN);
                b.asLongBuffer().put(f);
                sum += b.getLong(0);
            }
            return sum;
        }

        private static long pool(ByteBuffer hidden, ByteBuffer mask) {
            FloatBuffer t = hidden.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
            LongBuffer m = mask.duplicate().order(ByteOrder.LITTLE_ENDIAN).asLongBuffer();
            int seq = m.remaining();
            ByteBuffer out = ByteBuffer.allocateDirect(384 * 4).order(ByteOrder.LITTLE_ENDIAN);
            float[] sum = new float[384];
            float count = 0;
            for (int p = 0; p < seq; p++) {
                long keep = m.get(p);
                if (keep == 0) {
                    continue;
                }
                count += keep;
                for (int h = 0; h < 384; h++) {
                    sum[h] += t.get(p * 384 + h) * keep;
                }
            }
            double norm = 0;
            for (int h = 0; h < 384; h++) {
                sum[h] /= Math.max(count, 1e-9f);
                norm += (double) sum[h] * sum[h];
            }
            float scale = (float) (1 / Math.max(Math.sqrt(norm), 1e-12));
            for (int h = 0; h < 384; h++) {
                out.putFloat(sum[h] * scale);
            }
            return Float.floatToIntBits(out.getFloat(0));
        }
    }

    /**
     * The same tokenizer, ORT session options and pooling as the served pipeline, called in this JVM by
     * the closed loop's threads; at most {@code runsAtOnce} session.run calls at a time, as the service's
     * instance_group workers allow.
     */
    static final class InProcess implements AutoCloseable {
        private final OrtEnvironment env = OrtEnvironment.getEnvironment();
        private final HuggingFaceTokenizer tokenizer;
        private final OrtSession session;
        private final java.util.concurrent.Semaphore runs;

        InProcess(Path tokenizerFile, Path model, int threads, int runsAtOnce) throws Exception {
            tokenizer = tokenizer(tokenizerFile);
            runs = new java.util.concurrent.Semaphore(runsAtOnce);
            try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
                options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
                options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
                options.setInterOpNumThreads(1);
                options.setIntraOpNumThreads(threads);
                session = env.createSession(model.toString(), options);
            }
        }

        static HuggingFaceTokenizer tokenizer(Path file) throws Exception {
            return HuggingFaceTokenizer.builder().optTokenizerPath(file).optAddSpecialTokens(true)
                    .optTruncation(true).optMaxLength(256).optPadding(false).build();
        }

        float[] embed(String text) throws Exception {
            // The tokenizer's work as the step does it: only ids, mask and type ids are read.
            var lib = ai.djl.huggingface.tokenizers.jni.TokenizersLibrary.LIB;
            long encoding = lib.encode(tokenizer.getHandle(), text, true);
            long[] idValues;
            long[] maskValues;
            long[] typeValues;
            try {
                idValues = lib.getTokenIds(encoding);
                maskValues = lib.getAttentionMask(encoding);
                typeValues = lib.getTypeIds(encoding);
            } finally {
                lib.deleteEncoding(encoding);
            }
            long[] shape = {1, idValues.length};
            try (OnnxTensor ids = OnnxTensor.createTensor(env, LongBuffer.wrap(idValues), shape);
                 OnnxTensor mask = OnnxTensor.createTensor(env, LongBuffer.wrap(maskValues), shape);
                 OnnxTensor types = OnnxTensor.createTensor(env, LongBuffer.wrap(typeValues), shape)) {
                FloatBuffer hidden;
                runs.acquire();
                try (OrtSession.Result r = session.run(Map.of("input_ids", ids, "attention_mask", mask,
                        "token_type_ids", types))) {
                    hidden = ((OnnxTensor) r.get("last_hidden_state").orElseThrow()).getFloatBuffer();
                } finally {
                    runs.release();
                }
                return pool(hidden, maskValues);
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

        Cell measure(int concurrency, double warmup, double duration) throws Exception {
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
            long[] cpu = new long[2];
            m.run(warmup, duration, () -> cpu[0] = ownCpuNanos(), () -> cpu[1] = ownCpuNanos());
            for (Thread t : workers) {
                t.join();
            }
            Measurement.Result r = m.result();
            return new Cell(r, (cpu[1] - cpu[0]) / 1e3 / Math.max(1, r.calls()), 0, Double.NaN, Double.NaN);
        }

        @Override
        public void close() throws Exception {
            session.close();
            tokenizer.close();
        }
    }
}
