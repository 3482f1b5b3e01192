package io.maas.benchmarks;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Benchmark settings from flags, each with an environment variable as fallback (flag wins).
 * {@code --help} prints them all.
 */
record Options(Path repository, Path serviceJar, List<String> models, List<String> modes, List<Integer> concurrency,
               double warmupSeconds, double durationSeconds, int intraOpThreads, int instances, long queueDelayMicros,
               int rounds, int seq, int grpcPort, int httpPort, List<String> serverJvmOpts, String outFile) {

    static final String USAGE = """
            Usage: bin/bench [flags]   (every flag also reads the environment variable shown)
              --repository DIR        model repository with minilm/1 and simple/1   [BENCH_REPOSITORY, models/target/repository]
              --service-jar FILE      inference service jar                         [BENCH_SERVICE_JAR, inference-service/target/quarkus-app/quarkus-run.jar]
              --models LIST           minilm,simple                                 [BENCH_MODELS]
              --modes LIST            raw,off,on (raw ORT, served unbatched, served batched) [BENCH_MODES]
              --concurrency LIST      1,8,32                                        [BENCH_CONCURRENCY]
              --warmup SECONDS        warm-up before each measurement, 2 (doubled in round 1) [BENCH_WARMUP]
              --duration SECONDS      length of each measurement, 4                 [BENCH_DURATION]
              --rounds R              interleaved rounds; each cell reports its best, 3 [BENCH_ROUNDS]
              --threads N             ORT intra-op threads, raw and served, 2       [BENCH_THREADS]
              --instances K           instance_group count of the served models, 1  [BENCH_INSTANCES]
              --queue-delay-us N      max_queue_delay_microseconds when batching, 1000 [BENCH_QUEUE_DELAY_US]
              --seq N                 MiniLM sequence length, 128                   [BENCH_SEQ]
              --grpc-port / --http-port  service ports, 0 = a free port             [BENCH_GRPC_PORT, BENCH_HTTP_PORT]
              --server-jvm-opts "..."  extra JVM flags for the service              [BENCH_SERVER_JVM_OPTS]
              --out FILE              also write the report (markdown) to FILE      [BENCH_OUT]
            """;

    static Options parse(String[] args, Map<String, String> env) {
        Map<String, String> flags = new java.util.HashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-h") || a.equals("--help")) {
                System.out.print(USAGE);
                System.exit(0);
            }
            if (!a.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument '" + a + "'\n" + USAGE);
            }
            String key = a.substring(2);
            String value;
            int eq = key.indexOf('=');
            if (eq >= 0) {
                value = key.substring(eq + 1);
                key = key.substring(0, eq);
            } else {
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException("flag --" + key + " needs a value");
                }
                value = args[++i];
            }
            flags.put(key, value);
        }
        Lookup l = new Lookup(flags, env);
        Options o = new Options(
                Path.of(l.get("repository", "BENCH_REPOSITORY", "models/target/repository")),
                Path.of(l.get("service-jar", "BENCH_SERVICE_JAR", "inference-service/target/quarkus-app/quarkus-run.jar")),
                list(l.get("models", "BENCH_MODELS", "minilm,simple")),
                list(l.get("modes", "BENCH_MODES", "raw,off,on")),
                list(l.get("concurrency", "BENCH_CONCURRENCY", "1,8,32")).stream().map(Integer::parseInt).toList(),
                Double.parseDouble(l.get("warmup", "BENCH_WARMUP", "2")),
                Double.parseDouble(l.get("duration", "BENCH_DURATION", "4")),
                Integer.parseInt(l.get("threads", "BENCH_THREADS", "2")),
                Integer.parseInt(l.get("instances", "BENCH_INSTANCES", "1")),
                Long.parseLong(l.get("queue-delay-us", "BENCH_QUEUE_DELAY_US", "1000")),
                Integer.parseInt(l.get("rounds", "BENCH_ROUNDS", "3")),
                Integer.parseInt(l.get("seq", "BENCH_SEQ", "128")),
                Integer.parseInt(l.get("grpc-port", "BENCH_GRPC_PORT", "0")),
                Integer.parseInt(l.get("http-port", "BENCH_HTTP_PORT", "0")),
                words(l.get("server-jvm-opts", "BENCH_SERVER_JVM_OPTS", "")),
                l.get("out", "BENCH_OUT", ""));
        if (!flags.isEmpty()) {
            throw new IllegalArgumentException("unknown flag(s) " + flags.keySet() + "\n" + USAGE);
        }
        for (String m : o.models) {
            if (!m.equals("minilm") && !m.equals("simple")) {
                throw new IllegalArgumentException("unknown model '" + m + "' (minilm, simple)");
            }
        }
        for (String m : o.modes) {
            if (!m.equals("raw") && !m.equals("off") && !m.equals("on")) {
                throw new IllegalArgumentException("unknown mode '" + m + "' (raw, off, on)");
            }
        }
        if (o.rounds < 1 || o.intraOpThreads < 1 || o.instances < 1 || o.durationSeconds <= 0 || o.warmupSeconds < 0) {
            throw new IllegalArgumentException("rounds, threads and instances must be >= 1, duration > 0, warmup >= 0");
        }
        return o;
    }

    private static List<String> list(String s) {
        return Arrays.stream(s.split(",")).map(String::trim).filter(x -> !x.isEmpty()).toList();
    }

    private static List<String> words(String s) {
        return Arrays.stream(s.trim().split("\\s+")).filter(x -> !x.isEmpty()).toList();
    }

    /** Flag, then environment variable, then default; used flags are removed so leftovers can be reported. */
    private record Lookup(Map<String, String> flags, Map<String, String> env) {
        String get(String flag, String envName, String dflt) {
            String v = flags.remove(flag);
            if (v != null) {
                return v;
            }
            v = env.get(envName);
            return v != null && !v.isBlank() ? v : dflt;
        }
    }

    /** The report file, or null. */
    Path out() {
        return outFile.isBlank() ? null : Path.of(outFile);
    }

    /** Human-readable summary for the report header. */
    List<String> describe() {
        List<String> lines = new ArrayList<>();
        lines.add("ORT intra-op threads " + intraOpThreads + " (raw session and every served session), inter-op 1,"
                + " sequential execution, all graph optimisations");
        lines.add("served: instance_group count " + instances + ", max_batch_size 32, batching on = dynamic_batching"
                + " with max_queue_delay_microseconds " + queueDelayMicros);
        lines.add(rounds + " interleaved rounds (raw, off, on back to back per model and concurrency); each cell"
                + " reports its round with the highest throughput; warm-up " + warmupSeconds + " s (doubled in round 1),"
                + " measurement " + durationSeconds + " s; concurrency " + concurrency + "; batch 1 per call;"
                + " MiniLM seq " + seq);
        return lines;
    }
}
