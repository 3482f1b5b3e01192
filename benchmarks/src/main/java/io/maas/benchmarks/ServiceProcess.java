package io.maas.benchmarks;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.maas.proto.inference.GRPCInferenceServiceGrpc;
import io.maas.proto.inference.ModelReadyRequest;
import io.maas.proto.inference.ServerReadyRequest;

/**
 * The inference service as a child process on loopback, over a temporary model repository whose
 * config.pbtxt files this benchmark writes (batching on or off); the .onnx files are symlinked.
 */
final class ServiceProcess implements AutoCloseable {
    private final Process process;
    private final Path log;
    private final ManagedChannel channel;
    private final int httpPort;

    private ServiceProcess(Process process, Path log, ManagedChannel channel, int httpPort) {
        this.process = process;
        this.log = log;
        this.channel = channel;
        this.httpPort = httpPort;
    }

    /** The service's Prometheus metrics (GET /metrics). */
    String metrics() throws IOException, InterruptedException {
        var client = java.net.http.HttpClient.newHttpClient();
        var request = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + httpPort
                + "/metrics")).build();
        return client.send(request, java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    }

    ManagedChannel channel() {
        return channel;
    }

    Path log() {
        return log;
    }

    /** The service's process id, e.g. to read its /proc/PID/status. */
    long pid() {
        return process.pid();
    }

    /** Writes {@code <dir>/<model>/config.pbtxt} and links {@code <dir>/<model>/<v>/model.onnx} for each workload. */
    static Path repository(Path dir, Path source, List<Workload> workloads, boolean batching, Options o)
            throws IOException {
        for (Workload w : workloads) {
            Path versionDir = Files.createDirectories(dir.resolve(w.model()).resolve(w.version()));
            Files.createSymbolicLink(versionDir.resolve("model.onnx"), w.modelFile(source).toAbsolutePath());
            String config = "# Written by the MaaS benchmark: batching " + (batching ? "on" : "off") + ".\n"
                    + "max_batch_size: 32\n"
                    + (batching ? "dynamic_batching {\n  max_queue_delay_microseconds: " + o.queueDelayMicros()
                    + "\n  default_queue_policy { max_queue_size: 4096 }\n}\n" : "")
                    + "instance_group [ { count: " + o.instances() + " kind: KIND_CPU } ]\n"
                    + "version_policy { all {} }\n";
            Files.writeString(dir.resolve(w.model()).resolve("config.pbtxt"), config);
        }
        return dir;
    }

    /** Starts the service and waits until it and every model are ready; fixed ports are shifted by portOffset. */
    static ServiceProcess start(Path jar, Path repository, List<String> models, Options o, Path log, int portOffset)
            throws Exception {
        return start(jar, repository, models, o, log, portOffset, List.of(), java.util.Map.of());
    }

    /** As above, with JVM flags added after the options' own and environment variables set for the service. */
    static ServiceProcess start(Path jar, Path repository, List<String> models, Options o, Path log, int portOffset,
                                List<String> extraJvmOpts, java.util.Map<String, String> extraEnv) throws Exception {
        int grpcPort = o.grpcPort() > 0 ? o.grpcPort() + portOffset : freePort();
        int httpPort = o.httpPort() > 0 ? o.httpPort() + portOffset : freePort();
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.addAll(o.serverJvmOpts());
        cmd.addAll(extraJvmOpts);
        cmd.addAll(List.of("-jar", jar.toAbsolutePath().toString(), "--model-repository",
                repository.toAbsolutePath().toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("MAAS_GRPC_PORT", Integer.toString(grpcPort));
        pb.environment().put("MAAS_HTTP_PORT", Integer.toString(httpPort));
        pb.environment().put("MAAS_ONNX_INTRA_OP_THREADS", Integer.toString(o.intraOpThreads()));
        pb.environment().put("ORT_DISABLE_TELEMETRY", "1");
        pb.environment().putAll(extraEnv);
        Process p = pb.start();
        ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", grpcPort).usePlaintext()
                .directExecutor().maxInboundMessageSize(64 << 20).build();
        ServiceProcess service = new ServiceProcess(p, log, channel, httpPort);
        try {
            service.awaitReady(models);
        } catch (Exception e) {
            service.close();
            throw e;
        }
        return service;
    }

    private void awaitReady(List<String> models) throws Exception {
        var stub = GRPCInferenceServiceGrpc.newBlockingStub(channel);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (true) {
            if (!process.isAlive()) {
                throw new IllegalStateException("the service exited with " + process.exitValue() + "; log: " + log
                        + "\n" + tail());
            }
            try {
                var s = stub.withDeadlineAfter(2, TimeUnit.SECONDS);
                boolean ready = s.serverReady(ServerReadyRequest.getDefaultInstance()).getReady();
                for (String m : models) {
                    ready &= s.modelReady(ModelReadyRequest.newBuilder().setName(m).setVersion("1").build()).getReady();
                }
                if (ready) {
                    return;
                }
            } catch (RuntimeException e) {
                // Not listening yet.
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the service was not ready within 180 s; log: " + log + "\n" + tail());
            }
            Thread.sleep(200);
        }
    }

    private String tail() {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "(log unreadable: " + e.getMessage() + ")";
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Override
    public void close() throws InterruptedException {
        channel.shutdownNow();
        channel.awaitTermination(5, TimeUnit.SECONDS);
        process.destroy();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
