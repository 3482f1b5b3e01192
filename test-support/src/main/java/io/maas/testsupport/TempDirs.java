package io.maas.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Temporary folders a test JVM leaves nothing behind in: each is deleted with its contents when the
 * JVM exits. For folders that outlive one test method (a Quarkus test profile's model repository,
 * created once per JVM), where JUnit's {@code @TempDir} does not reach.
 */
public final class TempDirs {

    private TempDirs() {
    }

    /** A new empty folder in the JVM's temporary folder, removed at exit. */
    public static Path create(String prefix) {
        try {
            Path dir = Files.createTempDirectory(prefix);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> delete(dir), "delete-" + dir.getFileName()));
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a temporary folder", e);
        }
    }

    private static void delete(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // Already gone, or unreadable: nothing more a JVM on its way out can do.
        }
    }
}
