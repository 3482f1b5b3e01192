package io.maas.registry.it;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import io.maas.testsupport.FreePorts;
import io.maas.testsupport.ServiceProcess;

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
        Path jar = Path.of(System.getProperty("maas.registry.runner", "target/quarkus-app/quarkus-run.jar")).toAbsolutePath();
        Map<String, String> all = new HashMap<>();
        all.put("MAAS_GRPC_PORT", Integer.toString(FreePorts.take()));
        all.put("MAAS_HTTP_PORT", Integer.toString(FreePorts.take()));
        all.putAll(env);
        int grpcPort = Integer.parseInt(all.get("MAAS_GRPC_PORT"));
        var registry = new RegistryProcess(ServiceProcess.start(jar, List.of(), all, log), grpcPort);
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
