package io.maas.auth;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.BiFunction;
import java.util.function.LongSupplier;

/**
 * A configuration file (keys, policy, JWKS) kept current without a restart: {@link #get()} re-reads
 * it at most once per interval and re-parses it only when its bytes changed. Kubernetes updates a
 * mounted Secret or ConfigMap by swapping a symlink, so the content is compared, not the mtime.
 * A rewrite that does not parse (or a file that went away) keeps what is in force and is logged
 * once, so a typo in a Secret never locks every caller out.
 */
public final class Reloading<T> implements java.util.function.Supplier<T> {
    private static final System.Logger LOG = System.getLogger(Reloading.class.getName());

    private final Path file;
    private final BiFunction<Path, byte[], T> parser;
    private final long intervalNanos;
    private final LongSupplier nanoTime;
    private volatile T current;
    private volatile long checkedAt;
    private byte[] content;
    private String lastError;

    /** Reads and parses the file now; a file that is missing or does not parse fails here, at start. */
    public Reloading(Path file, BiFunction<Path, byte[], T> parser, long intervalMillis) {
        this(file, parser, intervalMillis, System::nanoTime);
    }

    Reloading(Path file, BiFunction<Path, byte[], T> parser, long intervalMillis, LongSupplier nanoTime) {
        this.file = file;
        this.parser = parser;
        this.intervalNanos = intervalMillis * 1_000_000L;
        this.nanoTime = nanoTime;
        try {
            content = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read " + file + ": " + e, e);
        }
        current = parser.apply(file, content);
        checkedAt = nanoTime.getAsLong();
    }

    @Override
    public T get() {
        long now = nanoTime.getAsLong();
        if (now - checkedAt >= intervalNanos) {
            reload(now);
        }
        return current;
    }

    public Path file() {
        return file;
    }

    private synchronized void reload(long now) {
        if (now - checkedAt < intervalNanos) {
            return; // another thread just did
        }
        checkedAt = now;
        byte[] fresh;
        try {
            fresh = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            failed("is missing");
            return;
        } catch (IOException e) {
            failed("cannot be read: " + e.getMessage());
            return;
        }
        if (Arrays.equals(fresh, content)) {
            return;
        }
        try {
            current = parser.apply(file, fresh);
            content = fresh;
            lastError = null;
            LOG.log(System.Logger.Level.INFO, "reloaded {0}", file);
        } catch (RuntimeException e) {
            failed("does not parse: " + e.getMessage());
        }
    }

    private void failed(String why) {
        if (!why.equals(lastError)) {
            lastError = why;
            LOG.log(System.Logger.Level.ERROR, "{0} {1}; keeping the version in force", file, why);
        }
    }
}
