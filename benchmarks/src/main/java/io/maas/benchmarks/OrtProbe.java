package io.maas.benchmarks;

import java.nio.file.Path;
import java.util.Locale;

import ai.onnxruntime.OrtEnvironment;

/**
 * Child process of {@link OrtVersions}: loads one model into the ONNX Runtime found first on its
 * classpath and runs the raw closed loop ({@link RawOrt}) at each concurrency; prints the loaded
 * native version and one machine-readable line per concurrency.
 * Args: model-file workload(minilm|simple) seq threads concurrency,list warmup-s duration-s.
 */
public final class OrtProbe {
    private OrtProbe() {
    }

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        Workload w = Workload.named(args[1], Integer.parseInt(args[2]));
        int threads = Integer.parseInt(args[3]);
        double warmup = Double.parseDouble(args[5]);
        double duration = Double.parseDouble(args[6]);
        System.out.println("version " + OrtEnvironment.getEnvironment().getVersion());
        try (RawOrt raw = new RawOrt(file, w, threads)) {
            for (String c : args[4].split(",")) {
                Measurement.Result r = raw.measure(Integer.parseInt(c), warmup, duration);
                System.out.printf(Locale.ROOT, "result %s %d %.3f %.3f %.3f %d%n", c, r.calls(), r.throughput(),
                        r.p50Micros(), r.p99Micros(), r.errors());
                if (r.firstError() != null) {
                    System.out.println("error " + r.firstError());
                }
            }
        }
    }
}
