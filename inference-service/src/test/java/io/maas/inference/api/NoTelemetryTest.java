package io.maas.inference.api;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import io.maas.inference.TestModels;
import io.quarkus.test.junit.QuarkusTest;

/**
 * ONNX Runtime 1.29 writes telemetry files ($TMPDIR/.ses, mat-debug-PID.log); the version we pin
 * must leave none, after real inference through the service.
 */
@QuarkusTest
class NoTelemetryTest extends GrpcTestSupport {

    @Test
    void inferenceLeavesNoTelemetryFiles() throws IOException {
        stub().modelInfer(TestModels.minilm("1", 1, 8));
        stub().modelInfer(TestModels.simple("1", 1, 0));
        for (Path dir : List.of(Path.of(System.getProperty("java.io.tmpdir")), Path.of("."),
                Path.of(System.getProperty("user.home")))) {
            try (Stream<Path> files = Files.list(dir)) {
                List<String> stray = files.map(p -> p.getFileName().toString())
                        .filter(n -> n.equals(".ses") || n.startsWith("mat-debug-")).toList();
                assertEquals(List.of(), stray, "telemetry files in " + dir);
            }
        }
    }
}
