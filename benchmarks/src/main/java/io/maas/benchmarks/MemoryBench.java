package io.maas.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The inference service's resident memory (VmRSS from /proc/PID/status) with both models loaded, after
 * warm-up and under load at each concurrency, for several memory settings in one run. Each round starts a
 * fresh service per variant (variants in alternating order), so every variant sees the same history;
 * the report gives medians over rounds and same-run ratios against the first variant.
 *
 * <p>A variant is a '+'-joined list of settings (see {@link #USAGE}); {@code default} is the JVM's own
 * choice on this machine. {@code limit} makes the JVM size itself as it would in a pod with that memory
 * limit ({@code -XX:MaxRAM}), so the chart's percentage-based flags are measured as they are deployed.
 */
public final class MemoryBench {
    static final String USAGE = """
            Usage: java -cp benchmarks/target/maas-benchmarks.jar io.maas.benchmarks.MemoryBench [flags]
              --variants LIST         comma-separated; each a '+'-joined list of settings   [MEM_VARIANTS]
                                      default,limit+gc+direct+malloc+trim (today's JVM defaults vs the chart's)
                settings: default (none) | limit: -XX:MaxRAM=<limit> -XX:MaxRAMPercentage=<heap-pct>
                          gc: -XX:+UseSerialGC | direct: -XX:MaxDirectMemorySize=<direct>
                          netty: one pooled arena per kind (io.netty.allocator.numDirectArenas/numHeapArenas=1)
                          malloc: MALLOC_ARENA_MAX=2 | trim: -XX:TrimNativeHeapInterval=5000
                          noarena: MAAS_ONNX_CPU_ARENA=false (ONNX Runtime's CPU arena and memory pattern off)
              --limit SIZE            pod memory limit the JVM sizes itself for, 768m  [MEM_LIMIT]
              --heap-pct P            MaxRAMPercentage under that limit, 25            [MEM_HEAP_PCT]
              --direct SIZE           MaxDirectMemorySize, 64m                         [MEM_DIRECT]
              --service-jar FILE      [MEM_SERVICE_JAR, inference-service/target/quarkus-app/quarkus-run.jar]
              --repository DIR        [MEM_REPOSITORY, models/target/repository]
              --concurrency LIST      1,8,32                                           [MEM_CONCURRENCY]
              --rounds R              2                                                [MEM_ROUNDS]
              --warmup SECONDS        before each measurement, 1                       [MEM_WARMUP]
              --duration SECONDS      4                                                [MEM_DURATION]
              --threads N             ORT intra-op threads, 2                          [MEM_THREADS]
              --batching on|off       dynamic batching (max_queue_delay 1000 us), on   [MEM_BATCHING]
            """;

    /** Per cell: peak RSS (KiB), throughput (inf/s), and the service's CPU time per call in the window (ms). */
    private record Run(Map<String, Long> rssKib, Map<String, Double> throughput, Map<String, Double> cpuMsPerCall,
                       long errors) {
    }

    private MemoryBench() {
    }

    public static void main(String[] args) throws Exception {
        Flags f = new Flags(args, System.getenv(), USAGE);
        List<String> variants = f.list("variants", "MEM_VARIANTS", "default,limit+gc+direct+malloc+trim");
        String limit = f.get("limit", "MEM_LIMIT", "768m");
        String heapPct = f.get("heap-pct", "MEM_HEAP_PCT", "25");
        String direct = f.get("direct", "MEM_DIRECT", "64m");
        Path jar = Path.of(f.get("service-jar", "MEM_SERVICE_JAR", "inference-service/target/quarkus-app/quarkus-run.jar"));
        Path source = Path.of(f.get("repository", "MEM_REPOSITORY", "models/target/repository"));
        List<Integer> concurrency = f.list("concurrency", "MEM_CONCURRENCY", "1,8,32").stream()
                .map(Integer::parseInt).toList();
        int rounds = f.integer("rounds", "MEM_ROUNDS", 2);
        double warmup = f.decimal("warmup", "MEM_WARMUP", 1);
        double duration = f.decimal("duration", "MEM_DURATION", 4);
        String threads = f.get("threads", "MEM_THREADS", "2");
        boolean batching = f.get("batching", "MEM_BATCHING", "on").equals("on");
        f.finish();

        Options o = Options.parse(new String[] {"--threads", threads, "--repository", source.toString()}, Map.of());
        List<Workload> workloads = List.of(Workload.minilm(128), Workload.simple());
        long modelBytes = 0;
        for (Workload w : workloads) {
            modelBytes += Files.size(w.modelFile(source));
        }
        Path work = Files.createTempDirectory("maas-memory-bench-");
        Path repo = ServiceProcess.repository(Files.createDirectories(work.resolve("repository")), source, workloads,
                batching, o);
        System.out.printf(Locale.ROOT, "# variants %s; limit %s, heap %s%%, direct %s; models %.1f MiB on disk;"
                        + " batching %s; intra-op threads %s; concurrency %s; %d rounds; warm-up %.1f s, measurement"
                        + " %.1f s; load average %s%n", variants, limit, heapPct, direct, modelBytes / 1048576.0,
                batching ? "on" : "off", threads, concurrency, rounds, warmup, duration, Bench.loadAverage());

        Map<String, List<Run>> runs = new LinkedHashMap<>();
        for (int round = 0; round < rounds; round++) {
            List<String> order = new ArrayList<>(variants);
            if (round % 2 == 1) {
                java.util.Collections.reverse(order);
            }
            for (String variant : order) {
                List<String> jvm = new ArrayList<>();
                Map<String, String> env = new LinkedHashMap<>();
                settings(variant, limit, heapPct, direct, jvm, env);
                Path log = work.resolve("service-" + variant + "-r" + (round + 1) + ".log");
                Run run;
                try (ServiceProcess s = ServiceProcess.start(jar, repo, List.of("minilm", "simple"), o, log, 0, jvm,
                        env)) {
                    run = measure(s, workloads, concurrency, warmup, duration);
                }
                runs.computeIfAbsent(variant, k -> new ArrayList<>()).add(run);
                System.out.printf(Locale.ROOT, "# round %d %s: RSS MiB %s; inf/s %s; CPU ms per call %s; errors %d%n",
                        round + 1, variant, mib(run.rssKib()), fmt(run.throughput(), "%.1f"), fmt(run.cpuMsPerCall(), "%.3f"),
                        run.errors());
            }
        }
        report(variants, runs, modelBytes, limit, heapPct, direct);
        System.out.println("# load average at the end " + Bench.loadAverage() + "; service logs under " + work);
    }

    /** Warm-up, then each model at each concurrency; VmRSS sampled every 100 ms during load (peak kept). */
    private static Run measure(ServiceProcess s, List<Workload> workloads, List<Integer> concurrency, double warmup,
                               double duration) throws Exception {
        Map<String, Long> rss = new LinkedHashMap<>();
        Map<String, Double> throughput = new LinkedHashMap<>();
        Map<String, Double> cpuPerCall = new LinkedHashMap<>();
        long errors = 0;
        rss.put("ready", rss(s.pid()));
        for (Workload w : workloads) {
            new GrpcLoad(s.channel(), w).measure(8, 0.5, 1.5);
        }
        rss.put("warm", rss(s.pid()));
        for (Workload w : workloads) {
            GrpcLoad load = new GrpcLoad(s.channel(), w);
            for (int c : concurrency) {
                AtomicLong peak = new AtomicLong();
                Thread sampler = new Thread(() -> {
                    while (!Thread.currentThread().isInterrupted()) {
                        peak.accumulateAndGet(rss(s.pid()), Math::max);
                        try {
                            Thread.sleep(100);
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                }, "rss-sampler");
                sampler.setDaemon(true);
                sampler.start();
                // The service's CPU time over the measured window (read on the same clock as Measurement's
                // phases): CPU per call does not depend on the share of a shared CPU the service got.
                long[] cpu = new long[2];
                Thread cpuWindow = new Thread(() -> {
                    try {
                        Thread.sleep((long) (warmup * 1000));
                        cpu[0] = cpuTicks(s.pid());
                        Thread.sleep((long) (duration * 1000));
                        cpu[1] = cpuTicks(s.pid());
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }, "cpu-window");
                cpuWindow.start();
                Measurement.Result r = load.measure(c, warmup, duration);
                cpuWindow.join();
                sampler.interrupt();
                sampler.join();
                rss.put(w.model() + "-c" + c, peak.get());
                throughput.put(w.model() + "-c" + c, r.throughput());
                cpuPerCall.put(w.model() + "-c" + c, r.calls() == 0 ? Double.NaN
                        : (cpu[1] - cpu[0]) * 1000.0 / TICKS_PER_SECOND / r.calls());
                errors += r.errors();
                if (r.firstError() != null) {
                    System.out.println("# error " + w.model() + " c" + c + ": " + r.firstError());
                }
            }
        }
        rss.put("end", rss(s.pid()));
        rss.put("hwm", status(s.pid(), "VmHWM:"));
        return new Run(rss, throughput, cpuPerCall, errors);
    }

    private static void settings(String variant, String limit, String heapPct, String direct, List<String> jvm,
                                 Map<String, String> env) {
        for (String token : variant.split("\\+")) {
            switch (token) {
                case "default" -> { }
                case "limit" -> jvm.addAll(List.of("-XX:MaxRAM=" + limit, "-XX:MaxRAMPercentage=" + heapPct));
                case "gc" -> jvm.add("-XX:+UseSerialGC");
                case "direct" -> jvm.add("-XX:MaxDirectMemorySize=" + direct);
                case "netty" -> jvm.addAll(List.of("-Dio.netty.allocator.numDirectArenas=1",
                        "-Dio.netty.allocator.numHeapArenas=1"));
                case "malloc" -> env.put("MALLOC_ARENA_MAX", "2");
                case "trim" -> jvm.add("-XX:TrimNativeHeapInterval=5000");
                case "noarena" -> env.put("MAAS_ONNX_CPU_ARENA", "false");
                default -> throw new IllegalArgumentException("unknown setting '" + token + "' in variant '" + variant
                        + "'\n" + USAGE);
            }
        }
    }

    private static void report(List<String> variants, Map<String, List<Run>> runs, long modelBytes, String limit,
                               String heapPct, String direct) {
        List<String> rssKeys = new ArrayList<>(runs.get(variants.get(0)).get(0).rssKib().keySet());
        List<String> tputKeys = new ArrayList<>(runs.get(variants.get(0)).get(0).throughput().keySet());
        double target = modelBytes / 1048576.0 + 300;
        System.out.println();
        System.out.println("RSS in MiB (median over rounds); peak under load = highest VmRSS sample in any cell;"
                + " hwm = VmHWM at the end. Target: models " + String.format(Locale.ROOT, "%.0f", modelBytes / 1048576.0)
                + " MiB + 300 = " + String.format(Locale.ROOT, "%.0f", target) + " MiB.");
        System.out.println();
        System.out.println("| variant | " + String.join(" | ", rssKeys) + " | peak under load | within target |");
        System.out.println("|---|" + "---:|".repeat(rssKeys.size() + 1) + "---|");
        for (String v : variants) {
            List<Run> rs = runs.get(v);
            StringBuilder b = new StringBuilder("| " + v + " |");
            for (String k : rssKeys) {
                b.append(String.format(Locale.ROOT, " %.0f |", median(rs, r -> r.rssKib().get(k)) / 1024));
            }
            double peak = median(rs, r -> r.rssKib().entrySet().stream().filter(e -> e.getKey().contains("-c"))
                    .mapToDouble(Map.Entry::getValue).max().orElse(0)) / 1024;
            b.append(String.format(Locale.ROOT, " %.0f | %s |", peak, peak <= target ? "yes" : "no"));
            System.out.println(b);
        }
        System.out.println();
        System.out.println("Throughput in inf/s (median over rounds), and the ratio to " + variants.get(0)
                + " (same run):");
        System.out.println();
        System.out.println("| variant | " + String.join(" | ", tputKeys) + " | errors |");
        System.out.println("|---|" + "---:|".repeat(tputKeys.size() + 1));
        for (String v : variants) {
            StringBuilder b = new StringBuilder("| " + v + " |");
            for (String k : tputKeys) {
                double t = median(runs.get(v), r -> r.throughput().get(k));
                double base = median(runs.get(variants.get(0)), r -> r.throughput().get(k));
                // A cell with no completion in its window (MiniLM c32 on a saturated machine) has no ratio.
                b.append(base > 0 && t > 0 ? String.format(Locale.ROOT, " %.1f (%.2fx) |", t, t / base)
                        : String.format(Locale.ROOT, " %.1f (n/a) |", t));
            }
            b.append(" ").append(runs.get(v).stream().mapToLong(Run::errors).sum()).append(" |");
            System.out.println(b);
        }
        System.out.println();
        System.out.println("Service CPU time per call in ms (median over rounds; utime+stime over the measured window"
                + " / calls in it), and the ratio to " + variants.get(0) + ":");
        System.out.println();
        System.out.println("| variant | " + String.join(" | ", tputKeys) + " |");
        System.out.println("|---|" + "---:|".repeat(tputKeys.size()));
        for (String v : variants) {
            StringBuilder b = new StringBuilder("| " + v + " |");
            for (String k : tputKeys) {
                double t = median(runs.get(v), r -> r.cpuMsPerCall().get(k));
                double base = median(runs.get(variants.get(0)), r -> r.cpuMsPerCall().get(k));
                b.append(base > 0 && t > 0 ? String.format(Locale.ROOT, " %.3f (%.2fx) |", t, t / base)
                        : String.format(Locale.ROOT, " %.3f (n/a) |", t));
            }
            System.out.println(b);
        }
        System.out.println();
        for (String v : variants) {
            List<String> jvm = new ArrayList<>();
            Map<String, String> env = new LinkedHashMap<>();
            settings(v, limit, heapPct, direct, jvm, env);
            System.out.println("- " + v + ": JVM " + (jvm.isEmpty() ? "(none)" : String.join(" ", jvm)) + "; env "
                    + (env.isEmpty() ? "(none)" : env));
        }
    }

    private static double median(List<Run> runs, java.util.function.ToDoubleFunction<Run> value) {
        return Flags.median(runs.stream().map(value::applyAsDouble).toList());
    }

    /** USER_HZ, the unit of utime and stime in /proc/PID/stat; 100 on Linux. */
    private static final double TICKS_PER_SECOND = 100;

    /** utime + stime of the process (all its threads), in clock ticks; 0 when it is gone. */
    private static long cpuTicks(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[11]) + Long.parseLong(f[12]);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    private static long rss(long pid) {
        return status(pid, "VmRSS:");
    }

    /** A kB field of /proc/PID/status, 0 when the process is gone. */
    private static long status(long pid, String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith(field)) {
                    return Long.parseLong(line.substring(field.length()).trim().split("\\s+")[0]);
                }
            }
        } catch (IOException | RuntimeException e) {
            return 0;
        }
        return 0;
    }

    private static String mib(Map<String, Long> kib) {
        List<String> parts = new ArrayList<>();
        kib.forEach((k, v) -> parts.add(k + " " + v / 1024));
        return String.join(", ", parts);
    }

    private static String fmt(Map<String, Double> m, String valueFormat) {
        List<String> parts = new ArrayList<>();
        m.forEach((k, v) -> parts.add(String.format(Locale.ROOT, "%s " + valueFormat, k, v)));
        return String.join(", ", parts);
    }
}
