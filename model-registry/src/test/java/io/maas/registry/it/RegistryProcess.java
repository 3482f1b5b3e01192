package io.maas.registry.it;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The packaged registry (target/quarkus-app/quarkus-run.jar) run as a separate OS process. */
public final class RegistryProcess implements AutoCloseable {

    private final Process process;
    public final int grpcPort;

    private RegistryProcess(Process process, int grpcPort) {
        this.process = process;
        this.grpcPort = grpcPort;
    }

    /** Starts the registry on two free loopback ports found now, never fixed ones another program may hold. */
    public static RegistryProcess start(Map<String, String> env, Path log) throws IOException, InterruptedException {
        int grpcPort;
        int httpPort;
        try (var a = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             var b = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            grpcPort = a.getLocalPort();
            httpPort = b.getLocalPort();
        }
        String jar = System.getProperty("maas.registry.runner", "target/quarkus-app/quarkus-run.jar");
        if (!Files.exists(Path.of(jar))) {
            throw new IllegalStateException(jar + " is missing: run `mvn package` (failsafe runs after it)");
        }
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:TieredStopAtLevel=1", "-jar", jar));
        var pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().put("MAAS_GRPC_PORT", Integer.toString(grpcPort));
        pb.environment().put("MAAS_HTTP_PORT", Integer.toString(httpPort));
        pb.environment().putAll(env);
        var registry = new RegistryProcess(pb.start(), grpcPort);
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (!registry.process.isAlive()) {
                throw new IllegalStateException("registry exited with " + registry.process.exitValue() + "; see " + log);
            }
            try (var s = new Socket("127.0.0.1", grpcPort)) {
                return registry;
            } catch (IOException notYet) {
                Thread.sleep(100);
            }
        }
        registry.kill();
        throw new IllegalStateException("registry did not listen on " + grpcPort + " within 60 s; see " + log);
    }

    /** SIGKILL: no shutdown hooks, no flush; only what reached the OS survives. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor();
    }

    public long pid() {
        return process.pid();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill();
        }
    }
}
