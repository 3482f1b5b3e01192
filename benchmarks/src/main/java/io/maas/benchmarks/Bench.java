package io.maas.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

import ai.onnxruntime.OrtEnvironment;

/**
 * Raw ONNX Runtime versus the MaaS inference service over gRPC, in one run: for each model, raw
 * ORT at each concurrency, then the service with batching off, then with batching on; prints a
 * table and the ratios (served/raw, batched/unbatched, per-request overhead on the tiny model).
 */
public final class Bench {
    private static final Map<String, String> MODE_NAMES = Map.of(
            "raw", "raw ORT (in-process)", "off", "gRPC, batching off", "on", "gRPC, batching on");

    private final Options o;
    private final Map<String, List<Measurement.Result>> results = new LinkedHashMap<>();
    private final List<ServiceProcess> services = new java.util.concurrent.CopyOnWriteArrayList<>();

    private Bench(Options o) {
        this.o = o;
    }

    public static void main(String[] args) throws Exception {
        Options o;
        try {
            o = Options.parse(args, System.getenv());
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        new Bench(o).run();
    }

    private static String key(String model, String mode, int c) {
        return model + "/" + mode + "/" + c;
    }

    private void run() throws Exception {
        List<Workload> workloads = o.models().stream().map(m -> Workload.named(m, o.seq())).toList();
        for (Workload w : workloads) {
            if (!Files.isRegularFile(w.modelFile(o.repository()))) {
                throw new IllegalStateException(w.modelFile(o.repository()) + " is missing: build the models module"
                        + " (mvn -q -B install -DskipTests -pl models) or pass --repository");
            }
        }
        boolean served = o.modes().contains("off") || o.modes().contains("on");
        if (served && !Files.isRegularFile(o.serviceJar())) {
            throw new IllegalStateException(o.serviceJar() + " is missing: build inference-service or pass --service-jar");
        }
        List<String> header = header();
        header.forEach(l -> System.out.println("# " + l));
        long cells = (long) workloads.size() * o.modes().size() * o.concurrency().size();
        System.out.printf(Locale.ROOT, "# %d cells x %d rounds, about %.0f s of load in total%n", cells, o.rounds(),
                cells * (o.rounds() * (o.warmupSeconds() + o.durationSeconds()) + o.warmupSeconds()));
        Runtime.getRuntime().addShutdownHook(new Thread(this::closeServices));

        long began = System.nanoTime();
        Map<String, RawOrt> raws = new LinkedHashMap<>();
        Map<String, GrpcLoad> loads = new LinkedHashMap<>();
        Path work = Files.createTempDirectory("maas-bench-");
        try {
            if (o.modes().contains("raw")) {
                for (Workload w : workloads) {
                    raws.put(w.model(), new RawOrt(w.modelFile(o.repository()), w, o.intraOpThreads()));
                }
            }
            // Both services are started up front and stay idle while the others are measured, so
            // raw, unbatched and batched figures of one cell are taken seconds apart, under the same
            // background load.
            int portOffset = 0;
            for (String mode : List.of("off", "on")) {
                if (!o.modes().contains(mode)) {
                    continue;
                }
                Path repo = ServiceProcess.repository(work.resolve("repository-batching-" + mode), o.repository(),
                        workloads, mode.equals("on"), o);
                Path log = work.resolve("service-batching-" + mode + ".log");
                System.out.println("# starting the service (batching " + mode + "), log " + log);
                ServiceProcess service = ServiceProcess.start(o.serviceJar(), repo, o.models(), o, log, portOffset);
                portOffset += 2;
                services.add(service);
                for (Workload w : workloads) {
                    loads.put(w.model() + "/" + mode, new GrpcLoad(service.channel(), w));
                }
            }
            for (int round = 1; round <= o.rounds(); round++) {
                double warmup = round == 1 ? 2 * o.warmupSeconds() : o.warmupSeconds();
                System.out.println("# round " + round + " of " + o.rounds());
                for (Workload w : workloads) {
                    for (int c : o.concurrency()) {
                        for (String mode : o.modes()) {
                            Measurement.Result r = mode.equals("raw")
                                    ? raws.get(w.model()).measure(c, warmup, o.durationSeconds())
                                    : loads.get(w.model() + "/" + mode).measure(c, warmup, o.durationSeconds());
                            record(w.model(), mode, c, r);
                        }
                    }
                }
            }
        } finally {
            for (RawOrt raw : raws.values()) {
                raw.close();
            }
            closeServices();
        }
        deleteRepositories(work);
        String report = report(header, (System.nanoTime() - began) / 1e9);
        System.out.println();
        System.out.print(report);
        if (o.out() != null) {
            Files.writeString(o.out(), report);
            System.out.println("# report written to " + o.out());
        }
    }

    private void closeServices() {
        for (ServiceProcess s : services) {
            try {
                s.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        services.clear();
    }

    /** The round with the highest throughput: background load only ever lowers a figure. */
    private Measurement.Result best(String key) {
        List<Measurement.Result> rounds = results.get(key);
        return rounds == null ? null
                : rounds.stream().max(Comparator.comparingDouble(Measurement.Result::throughput)).orElse(null);
    }

    private void record(String model, String mode, int c, Measurement.Result r) {
        results.computeIfAbsent(key(model, mode, c), k -> new ArrayList<>()).add(r);
        System.out.printf(Locale.ROOT, "%-7s %-22s c=%-3d %9.1f inf/s  p50 %9.3f ms  p99 %9.3f ms  (%d calls%s)%n",
                model, MODE_NAMES.get(mode), c, r.throughput(), r.p50Micros() / 1e3, r.p99Micros() / 1e3, r.calls(),
                r.errors() > 0 ? ", " + r.errors() + " errors, first: " + r.firstError() : "");
    }

    private List<String> header() {
        List<String> h = new ArrayList<>();
        h.add("machine: " + Runtime.getRuntime().availableProcessors() + " cores, " + cpuModel() + ", "
                + memory() + "; load average at start " + loadAverage());
        h.add("Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name")
                + "), ONNX Runtime " + OrtEnvironment.getEnvironment().getVersion());
        h.addAll(o.describe());
        return h;
    }

    private String report(List<String> header, double seconds) {
        StringBuilder sb = new StringBuilder();
        sb.append("MaaS benchmark: raw ONNX Runtime vs the inference service over gRPC (loopback)\n\n");
        header.forEach(l -> sb.append("- ").append(l).append('\n'));
        sb.append(String.format(Locale.ROOT, "- load average at end %s; run took %.0f s%n%n", loadAverage(), seconds));
        sb.append("| model | path | concurrency | throughput (inf/s) | p50 (ms) | p99 (ms) | served/raw | errors"
                + " | throughput of each round |\n");
        sb.append("|---|---|---:|---:|---:|---:|---:|---:|---|\n");
        for (String model : o.models()) {
            for (String mode : o.modes()) {
                for (int c : o.concurrency()) {
                    Measurement.Result r = best(key(model, mode, c));
                    Measurement.Result raw = best(key(model, "raw", c));
                    if (r == null) {
                        continue;
                    }
                    String ratio = mode.equals("raw") || raw == null ? "" : pct(r.throughput() / raw.throughput());
                    String rounds = String.join(" / ", results.get(key(model, mode, c)).stream()
                            .map(x -> String.format(Locale.ROOT, "%.1f", x.throughput())).toList());
                    long errors = results.get(key(model, mode, c)).stream().mapToLong(Measurement.Result::errors).sum();
                    sb.append(String.format(Locale.ROOT, "| %s | %s | %d | %.1f | %.3f | %.3f | %s | %d | %s |%n",
                            model, MODE_NAMES.get(mode), c, r.throughput(), r.p50Micros() / 1e3, r.p99Micros() / 1e3,
                            ratio, errors, rounds));
                }
            }
        }
        sb.append("\nRatios\n\n");
        for (String model : o.models()) {
            for (int c : o.concurrency()) {
                Measurement.Result raw = best(key(model, "raw", c));
                Measurement.Result off = best(key(model, "off", c));
                Measurement.Result on = best(key(model, "on", c));
                List<String> parts = new ArrayList<>();
                if (raw != null && off != null) {
                    parts.add("served/raw unbatched " + pct(off.throughput() / raw.throughput()));
                }
                if (raw != null && on != null) {
                    parts.add("served/raw batched " + pct(on.throughput() / raw.throughput()));
                }
                if (off != null && on != null) {
                    parts.add(String.format(Locale.ROOT, "batched/unbatched %.2fx", on.throughput() / off.throughput()));
                }
                if (!parts.isEmpty()) {
                    sb.append(String.format(Locale.ROOT, "- %s, concurrency %d: %s%n", model, c, String.join("; ", parts)));
                }
            }
        }
        sb.append('\n');
        saturation(sb);
        overhead(sb);
        return sb.toString();
    }

    /** Served vs raw at saturation: the best of each over the measured concurrencies, and at the highest one. */
    private void saturation(StringBuilder sb) {
        if (!o.models().contains("minilm")) {
            return;
        }
        int top = o.concurrency().stream().max(Comparator.naturalOrder()).orElse(1);
        Measurement.Result rawTop = best(key("minilm", "raw", top));
        double rawPeak = peak("minilm", "raw");
        double servedPeak = Math.max(peak("minilm", "off"), peak("minilm", "on"));
        if (rawTop == null || servedPeak == 0) {
            return;
        }
        double servedTop = Stream.of("off", "on").map(m -> best(key("minilm", m, top)))
                .filter(r -> r != null).mapToDouble(Measurement.Result::throughput).max().orElse(0);
        double ratioTop = servedTop / rawTop.throughput();
        double ratioPeak = servedPeak / rawPeak;
        sb.append(String.format(Locale.ROOT, "- MiniLM at saturation (concurrency %d): best served %.1f inf/s vs raw"
                + " %.1f inf/s = %s (target >= 90%%: %s)%n", top, servedTop, rawTop.throughput(), pct(ratioTop),
                ratioTop >= 0.9 ? "met" : "NOT met"));
        sb.append(String.format(Locale.ROOT, "- MiniLM peak over all concurrencies: served %.1f inf/s vs raw %.1f"
                + " inf/s = %s (target >= 90%%: %s)%n", servedPeak, rawPeak, pct(ratioPeak),
                ratioPeak >= 0.9 ? "met" : "NOT met"));
    }

    private double peak(String model, String mode) {
        return o.concurrency().stream().map(c -> best(key(model, mode, c))).filter(r -> r != null)
                .mapToDouble(Measurement.Result::throughput).max().orElse(0);
    }

    /** Per-request serving overhead: p50 over gRPC at concurrency 1 minus raw ORT p50 at concurrency 1. */
    private void overhead(StringBuilder sb) {
        Measurement.Result raw = best(key("simple", "raw", 1));
        if (raw == null) {
            return;
        }
        for (String mode : List.of("off", "on")) {
            Measurement.Result r = best(key("simple", mode, 1));
            if (r != null) {
                sb.append(String.format(Locale.ROOT, "- serving overhead per request on the tiny model (%s): p50 %.1f µs"
                        + " via gRPC - %.1f µs raw ORT = %.1f µs%s%n", MODE_NAMES.get(mode), r.p50Micros(),
                        raw.p50Micros(), r.p50Micros() - raw.p50Micros(),
                        mode.equals("on") ? " (includes waiting for the batching delay of " + o.queueDelayMicros()
                                + " µs)" : ""));
            }
        }
    }

    private static String pct(double ratio) {
        return String.format(Locale.ROOT, "%.1f%%", ratio * 100);
    }

    private static String cpuModel() {
        try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
            return lines.filter(l -> l.startsWith("model name")).findFirst()
                    .map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("unknown CPU");
        } catch (IOException | RuntimeException e) {
            return "unknown CPU";
        }
    }

    private static String memory() {
        try (Stream<String> lines = Files.lines(Path.of("/proc/meminfo"))) {
            return lines.filter(l -> l.startsWith("MemTotal")).findFirst()
                    .map(l -> String.format(Locale.ROOT, "%.1f GiB RAM",
                            Long.parseLong(l.replaceAll("\\D", "")) / 1024.0 / 1024.0)).orElse("");
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    /** The 1, 5 and 15 minute load averages, for reports. */
    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    private static void deleteRepositories(Path work) throws IOException {
        try (Stream<Path> walk = Files.walk(work)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                if (!p.getFileName().toString().endsWith(".log") && !p.equals(work)) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }
}
