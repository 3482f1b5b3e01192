package io.maas.router.adapters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Checks the router's PEM files for changes at a fixed, bounded interval, on one daemon thread, never
 * on a handshake: a rotated Secret (a new ..data symlink, or files rewritten in place) is picked up
 * within one interval. Content, not mtime, decides: a rewrite within the same second still counts.
 */
final class TlsFiles implements AutoCloseable {
    /** Something built from files that can read them again. */
    interface Watched {
        void reload();
    }

    private final List<Watched> watched = new CopyOnWriteArrayList<>();
    private ScheduledExecutorService checks;

    void watch(Watched w) {
        watched.add(w);
    }

    void start(long intervalMillis) {
        if (watched.isEmpty() || checks != null) {
            return;
        }
        checks = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "router-tls-reload");
            t.setDaemon(true);
            return t;
        });
        checks.scheduleWithFixedDelay(() -> watched.forEach(Watched::reload), intervalMillis, intervalMillis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        if (checks != null) {
            checks.shutdownNow();
        }
    }

    /** A digest of the files' contents; fails with the file that cannot be read. */
    static String fingerprint(Path... files) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            for (Path f : files) {
                try {
                    digest.update(Files.readAllBytes(f));
                } catch (IOException e) {
                    throw new IllegalStateException("cannot read " + f + ": " + e, e);
                }
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
