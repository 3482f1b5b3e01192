package io.maas.registry.adapters;

import io.maas.registry.domain.DeclarationApplier;
import io.maas.registry.domain.RegistryException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Watches a local declared-routing file by polling its content once a second. Polling (rather
 * than WatchService) also sees the symlink swaps of a mounted ConfigMap volume.
 */
public final class FileRoutingWatcher implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(FileRoutingWatcher.class.getName());
    private static final int RECONCILE_EVERY_TICKS = 5;

    private final Path file;
    private final DeclarationApplier applier;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        var t = new Thread(r, "maas-routing-file-watcher");
        t.setDaemon(true);
        return t;
    });
    private String lastContent;
    private int ticks;

    public FileRoutingWatcher(Path file, DeclarationApplier applier) {
        this.file = file;
        this.applier = applier;
    }

    public void start() {
        LOG.log(System.Logger.Level.INFO, "watching declared routing file {0}", file.toAbsolutePath());
        timer.scheduleWithFixedDelay(this::tick, 0, 1, TimeUnit.SECONDS);
    }

    private void tick() {
        try {
            String content;
            try {
                content = Files.readString(file);
            } catch (NoSuchFileException e) {
                content = null;
            }
            if (content != null && !content.equals(lastContent)) {
                lastContent = content;
                applier.declareModels(DeclaredRoutingDocument.parseModels(content, applier.origin()));
            } else if (++ticks % RECONCILE_EVERY_TICKS == 0) {
                applier.reconcile();
            }
        } catch (RegistryException | IOException e) {
            LOG.log(System.Logger.Level.WARNING, "declared routing file " + file + " not applied: " + e.getMessage());
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "declared routing file watcher failed; retrying", e);
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
