package io.maas.inference.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import io.maas.inference.TestModels;
import io.quarkus.test.junit.QuarkusTest;

/**
 * ONNX Runtime 1.29 writes telemetry files ($TMPDIR/.ses, mat-debug-PID.log) unless ORT_DISABLE_TELEMETRY=1
 * is set before the JVM starts; the service, started as everywhere with it set, must leave none after real
 * inference. The service runs in a JVM of its own
 * (tag own-tmpdir: surefire execution 'no-telemetry') whose TMPDIR, java.io.tmpdir and working directory are a
 * folder emptied before the build's tests: the test checks that folder, never the shared /tmp,
 * where another program's files may be.
 */
@QuarkusTest
@Tag("own-tmpdir")
class NoTelemetryTest extends GrpcTestSupport {

    @Test
    void inferenceLeavesNoTelemetryFiles() throws IOException {
        String own = System.getProperty("maas.no-telemetry.tmp");
        assertNotNull(own, "run by the surefire execution 'no-telemetry', which gives the service a temporary folder of its own");
        Path dir = Path.of(own).toRealPath();
        assertEquals(dir, Path.of(System.getenv("TMPDIR")).toRealPath(), "TMPDIR, which ONNX Runtime's native code reads");
        assertEquals(dir, Path.of(System.getProperty("java.io.tmpdir")).toRealPath(), "java.io.tmpdir");
        assertNotEquals(Path.of("/tmp").toRealPath(), dir);
        assertEquals("1", System.getenv("ORT_DISABLE_TELEMETRY"),
                "ORT_DISABLE_TELEMETRY=1, set for every test JVM by the parent pom's surefire configuration");

        stub().modelInfer(TestModels.minilm("1", 1, 8));
        stub().modelInfer(TestModels.minilm("2", 1, 8));
        stub().modelInfer(TestModels.simple("1", 1, 0));
        try (Stream<Path> files = Files.list(dir)) {
            List<String> stray = files.map(p -> p.getFileName().toString())
                    .filter(n -> n.equals(".ses") || n.startsWith("mat-debug-")).toList();
            assertEquals(List.of(), stray, "telemetry files in " + dir);
        }
    }
}
