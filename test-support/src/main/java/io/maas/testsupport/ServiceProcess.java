package io.maas.testsupport;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One of the project's services (a built jar) as a real process, with a small heap: its working
 * directory, java.io.tmpdir and TMPDIR are the log's own folder, so nothing is read from or left
 * in a shared temporary directory. The one process launcher of the tests.
 */
public final class ServiceProcess {

    private ServiceProcess() {
    }

    public static Process start(Path jar, List<String> args, Map<String, String> env, Path log) throws IOException {
        if (!Files.exists(jar)) {
            throw new IllegalStateException(jar + " is missing: build it first (./mvnw install -DskipTests)");
        }
        Path dir = log.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.io.tmpdir=" + dir, "-jar",
                jar.toString()));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().put("TMPDIR", dir.toString());
        // ONNX Runtime 1.29+ writes telemetry files without it; callers' env may still override.
        pb.environment().put("ORT_DISABLE_TELEMETRY", "1");
        pb.environment().putAll(env);
        return pb.start();
    }

    /** SIGTERM, then SIGKILL after 10 s; null is ignored. */
    public static void stop(Process p) {
        if (p == null) {
            return;
        }
        p.destroy();
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
