package io.maas.registry.api;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Throwaway certificates made with openssl at test time, in one directory. */
final class TestCerts {
    final Path dir;

    TestCerts(Path dir) {
        this.dir = dir;
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Path pem(String name) {
        return dir.resolve(name + ".pem");
    }

    Path key(String name) {
        return dir.resolve(name + ".key");
    }

    /** A self-signed certificate {@code name.pem} / {@code name.key}; usable as a CA. */
    TestCerts selfSigned(String name, String cn, String... extensions) {
        return certificate(name, cn, List.of(), extensions);
    }

    /** A certificate for {@code cn} signed by the CA {@code ca} (made by {@link #selfSigned}). */
    TestCerts signed(String name, String cn, String ca, String... extensions) {
        return certificate(name, cn, List.of("-CA", pem(ca).toString(), "-CAkey", key(ca).toString()), extensions);
    }

    private TestCerts certificate(String name, String cn, List<String> issuer, String... extensions) {
        var args = new ArrayList<>(List.of("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=" + cn,
                "-keyout", key(name).toString(), "-out", pem(name).toString()));
        args.addAll(issuer);
        for (var ext : extensions) {
            args.addAll(List.of("-addext", ext));
        }
        return openssl(args);
    }

    private TestCerts openssl(List<String> args) {
        var command = new ArrayList<String>();
        command.add("openssl");
        command.addAll(args);
        Path log = dir.resolve("openssl.log");
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .start();
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("openssl failed: " + String.join(" ", command) + "; see " + log);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        return this;
    }
}
