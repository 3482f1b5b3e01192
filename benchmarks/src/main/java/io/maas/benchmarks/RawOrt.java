package io.maas.benchmarks;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;

/**
 * ONNX Runtime in this JVM, no serving: one session with the service's session options, and
 * N caller threads each running {@code session.run} on it in a loop (concurrency N, batch 1).
 * Inputs are built once per thread; outputs are released without being copied out.
 */
final class RawOrt implements AutoCloseable {
    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;
    private final Workload workload;

    RawOrt(Path modelFile, Workload workload, int intraOpThreads) throws OrtException {
        this.workload = workload;
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            // The same options as the inference service's OnnxModelLoader.
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            options.setInterOpNumThreads(1);
            options.setIntraOpNumThreads(intraOpThreads);
            this.session = env.createSession(modelFile.toString(), options);
        }
    }

    Measurement.Result measure(int concurrency, double warmupSeconds, double durationSeconds) throws Exception {
        Measurement m = new Measurement();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < concurrency; i++) {
            Map<String, OnnxTensor> feeds = workload.tensors(env);
            Thread t = new Thread(() -> loop(m, feeds), "raw-ort-" + i);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
        m.run(warmupSeconds, durationSeconds);
        for (Thread t : threads) {
            t.join();
        }
        return m.result();
    }

    private void loop(Measurement m, Map<String, OnnxTensor> feeds) {
        try {
            while (!m.stopped()) {
                long start = System.nanoTime();
                try (OrtSession.Result r = session.run(feeds)) {
                    if (r.size() == 0) {
                        m.failed("no outputs");
                    }
                }
                m.completed(start);
            }
        } catch (OrtException | RuntimeException e) {
            m.failed(e.toString());
        } finally {
            feeds.values().forEach(OnnxTensor::close);
        }
    }

    @Override
    public void close() throws OrtException {
        session.close();
    }
}
