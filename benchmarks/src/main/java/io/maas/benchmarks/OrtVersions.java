package io.maas.benchmarks;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Two ONNX Runtime versions side by side in one run: for each round, model and version, a child JVM
 * ({@link OrtProbe}) with that version's jar first on its classpath runs raw ORT at each concurrency with
 * the same intra-op threads. The version order alternates per round, and the report gives medians over
 * rounds, the per-round ratios and whether telemetry files appeared. Every child runs with
 * {@code ORT_DISABLE_TELEMETRY=1} in a temporary folder of its own (TMPDIR, java.io.tmpdir, working
 * directory), checked for {@code .ses} and {@code mat-debug-*} after it exits; a short control child per
 * version without the variable shows what the check would catch.
 */
public final class OrtVersions {
    static final String USAGE = """
            Usage: java -cp benchmarks/target/maas-benchmarks.jar io.maas.benchmarks.OrtVersions [flags]
              --ort-jars LIST         label=jar,...; default: every onnxruntime-*.jar in benchmarks/target/ort [ORTV_JARS]
              --repository DIR        model repository with minilm/1 and simple/1   [ORTV_REPOSITORY, models/target/repository]
              --models LIST           minilm,simple                                 [ORTV_MODELS]
              --concurrency LIST      1,4 (caller threads on one session, batch 1)  [ORTV_CONCURRENCY]
              --threads N             ORT intra-op threads, 2                       [ORTV_THREADS]
              --rounds R              interleaved rounds, 3                         [ORTV_ROUNDS]
              --warmup SECONDS        2                                             [ORTV_WARMUP]
              --duration SECONDS      4                                             [ORTV_DURATION]
              --seq N                 MiniLM sequence length, 128                   [ORTV_SEQ]
            """;

    private record Cell(String version, String model, int concurrency) {
    }

    private record Sample(double throughput, double p50, double p99, long errors) {
    }

    private OrtVersions() {
    }

    public static void main(String[] args) throws Exception {
        Flags f = new Flags(args, System.getenv(), USAGE);
        String jarsFlag = f.get("ort-jars", "ORTV_JARS", "");
        Path repository = Path.of(f.get("repository", "ORTV_REPOSITORY", "models/target/repository"));
        List<String> models = f.list("models", "ORTV_MODELS", "minilm,simple");
        List<String> concurrency = f.list("concurrency", "ORTV_CONCURRENCY", "1,4");
        int threads = f.integer("threads", "ORTV_THREADS", 2);
        int rounds = f.integer("rounds", "ORTV_ROUNDS", 3);
        double warmup = f.decimal("warmup", "ORTV_WARMUP", 2);
        double duration = f.decimal("duration", "ORTV_DURATION", 4);
        int seq = f.integer("seq", "ORTV_SEQ", 128);
        f.finish();

        Map<String, Path> jars = jars(jarsFlag);
        if (jars.size() < 2) {
            throw new IllegalStateException("need two ONNX Runtime jars, found " + jars
                    + ": package the benchmarks module (it copies them to benchmarks/target/ort) or pass --ort-jars");
        }
        Path self = Path.of(OrtVersions.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path work = Files.createTempDirectory("maas-ort-versions-");
        List<String> versions = new ArrayList<>(jars.keySet());
        System.out.printf(Locale.ROOT, "# ONNX Runtime %s, models %s, concurrency %s, intra-op threads %d, inter-op 1,"
                        + " sequential, all optimisations; %d rounds (version order alternates), warm-up %.1f s,"
                        + " measurement %.1f s; ORT_DISABLE_TELEMETRY=1; load average %s%n",
                versions, models, concurrency, threads, rounds, warmup, duration, Bench.loadAverage());

        Map<Cell, List<Sample>> samples = new LinkedHashMap<>();
        Map<String, Integer> telemetryFiles = new LinkedHashMap<>();
        for (int round = 0; round < rounds; round++) {
            for (String model : models) {
                List<String> order = new ArrayList<>(versions);
                if (round % 2 == 1) {
                    java.util.Collections.reverse(order);
                }
                for (String version : order) {
                    Path tmp = Files.createDirectories(work.resolve("r" + round + "-" + model + "-" + version));
                    Workload w = Workload.named(model, seq);
                    List<String> out = child(jars.get(version), self, tmp, true, w.modelFile(repository).toString(),
                            model, seq, threads, String.join(",", concurrency), warmup, duration);
                    check(out, version);
                    for (String line : out) {
                        if (line.startsWith("result ")) {
                            String[] p = line.split(" ");
                            samples.computeIfAbsent(new Cell(version, model, Integer.parseInt(p[1])),
                                    k -> new ArrayList<>()).add(new Sample(Double.parseDouble(p[3]),
                                    Double.parseDouble(p[4]), Double.parseDouble(p[5]), Long.parseLong(p[6])));
                            System.out.printf("# round %d %s %s c%s: %s inf/s, p50 %s us%n", round + 1, version, model,
                                    p[1], p[3], p[4]);
                        }
                    }
                    telemetryFiles.merge(version, telemetry(tmp).size(), Integer::sum);
                }
            }
        }
        // Control: the same check without the variable, so a check that sees nothing is shown to be able to see.
        Map<String, List<String>> control = new LinkedHashMap<>();
        for (String version : versions) {
            Path tmp = Files.createDirectories(work.resolve("control-" + version));
            Workload w = Workload.simple();
            check(child(jars.get(version), self, tmp, false, w.modelFile(repository).toString(), "simple", seq,
                    threads, "1", 0.2, 0.5), version);
            control.put(version, telemetry(tmp));
        }
        report(versions, models, concurrency, samples, telemetryFiles, control);
        System.out.println("# load average at the end " + Bench.loadAverage() + "; child folders under " + work);
    }

    private static void report(List<String> versions, List<String> models, List<String> concurrency,
                               Map<Cell, List<Sample>> samples, Map<String, Integer> telemetryFiles,
                               Map<String, List<String>> control) {
        String base = versions.get(0);
        System.out.println();
        System.out.println("| model | c | version | inf/s (median) | p50 us (median) | p99 us (median) | errors |"
                + " inf/s per round |");
        System.out.println("|---|---:|---|---:|---:|---:|---:|---|");
        for (String model : models) {
            for (String c : concurrency) {
                for (String v : versions) {
                    List<Sample> s = samples.getOrDefault(new Cell(v, model, Integer.parseInt(c)), List.of());
                    System.out.printf(Locale.ROOT, "| %s | %s | %s | %.1f | %.1f | %.1f | %d | %s |%n", model, c, v,
                            Flags.median(s.stream().map(Sample::throughput).toList()),
                            Flags.median(s.stream().map(Sample::p50).toList()),
                            Flags.median(s.stream().map(Sample::p99).toList()),
                            s.stream().mapToLong(Sample::errors).sum(),
                            String.join(" / ", s.stream().map(x -> String.format(Locale.ROOT, "%.1f", x.throughput()))
                                    .toList()));
                }
            }
        }
        System.out.println();
        for (String v : versions.subList(1, versions.size())) {
            for (String model : models) {
                for (String c : concurrency) {
                    List<Sample> a = samples.getOrDefault(new Cell(base, model, Integer.parseInt(c)), List.of());
                    List<Sample> b = samples.getOrDefault(new Cell(v, model, Integer.parseInt(c)), List.of());
                    List<Double> paired = new ArrayList<>();
                    for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
                        paired.add(b.get(i).throughput() / a.get(i).throughput());
                    }
                    double ratio = Flags.median(b.stream().map(Sample::throughput).toList())
                            / Flags.median(a.stream().map(Sample::throughput).toList());
                    System.out.printf(Locale.ROOT, "- %s c%s: %s/%s throughput %.3fx (medians); per round %s%n", model,
                            c, v, base, ratio, String.join(", ", paired.stream()
                                    .map(x -> String.format(Locale.ROOT, "%.3f", x)).toList()));
                }
            }
        }
        System.out.println();
        telemetryFiles.forEach((v, n) -> System.out.println("- telemetry files with ORT_DISABLE_TELEMETRY=1, " + v
                + ": " + n));
        control.forEach((v, files) -> System.out.println("- control without ORT_DISABLE_TELEMETRY, " + v + ": "
                + (files.isEmpty() ? "none" : files)));
    }

    /** label -> jar: the flag's list, or every onnxruntime-VERSION.jar in benchmarks/target/ort, oldest first. */
    private static Map<String, Path> jars(String flag) throws IOException {
        Map<String, Path> jars = new LinkedHashMap<>();
        if (!flag.isBlank()) {
            for (String item : flag.split(",")) {
                String[] kv = item.split("=", 2);
                jars.put(kv[0].trim(), Path.of(kv[1].trim()));
            }
            return jars;
        }
        Path dir = Path.of("benchmarks/target/ort");
        if (Files.isDirectory(dir)) {
            try (Stream<Path> s = Files.list(dir)) {
                s.filter(p -> p.getFileName().toString().matches("onnxruntime-[0-9.]+\\.jar"))
                        .sorted(java.util.Comparator.comparing(p -> versionKey(p.getFileName().toString())))
                        .forEach(p -> jars.put(p.getFileName().toString().replaceAll("onnxruntime-|\\.jar", ""), p));
            }
        }
        return jars;
    }

    private static String versionKey(String name) {
        StringBuilder b = new StringBuilder();
        for (String part : name.replaceAll("[^0-9.]", "").split("\\.")) {
            b.append(String.format("%05d", part.isEmpty() ? 0 : Integer.parseInt(part)));
        }
        return b.toString();
    }

    /** The ORT jar first on the classpath, so its classes and native library win over the benchmark's own. */
    private static List<String> child(Path ortJar, Path self, Path tmp, boolean telemetryOff, String modelFile,
                                      String model, int seq, int threads, String concurrency, double warmup,
                                      double duration) throws IOException, InterruptedException {
        String javaCmd = ProcessHandle.current().info().command().orElse("java");
        ProcessBuilder pb = new ProcessBuilder(javaCmd, "-Djava.io.tmpdir=" + tmp, "-cp",
                ortJar.toAbsolutePath() + File.pathSeparator + self, OrtProbe.class.getName(),
                Path.of(modelFile).toAbsolutePath().toString(), model, Integer.toString(seq),
                Integer.toString(threads), concurrency, Double.toString(warmup), Double.toString(duration))
                .directory(tmp.toFile()).redirectErrorStream(true);
        pb.environment().put("TMPDIR", tmp.toString());
        if (telemetryOff) {
            pb.environment().put("ORT_DISABLE_TELEMETRY", "1");
        } else {
            pb.environment().remove("ORT_DISABLE_TELEMETRY");
        }
        Process p = pb.start();
        List<String> lines = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                lines.add(line);
            }
        }
        int rc = p.waitFor();
        if (rc != 0) {
            throw new IllegalStateException("ORT probe (" + ortJar + ", " + model + ") exited with " + rc + ":\n"
                    + String.join("\n", lines));
        }
        return lines;
    }

    private static void check(List<String> out, String version) {
        String loaded = out.stream().filter(l -> l.startsWith("version ")).findFirst().orElse("version ?").substring(8);
        if (!loaded.equals(version)) {
            throw new IllegalStateException("asked for ONNX Runtime " + version + " but the child loaded " + loaded
                    + ":\n" + String.join("\n", out));
        }
    }

    private static List<String> telemetry(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.map(p -> p.getFileName().toString())
                    .filter(n -> n.equals(".ses") || n.startsWith("mat-debug-")).toList();
        }
    }
}
