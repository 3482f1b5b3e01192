package io.maas.registry.domain;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * In-memory fan-out of routing changes to watchers. Publishing and subscribing share one lock,
 * so a new watcher's snapshot (or replay) and the live changes after it never overlap or leave a
 * gap. Recent changes are kept so a reconnecting watcher can resume without a full snapshot.
 */
public final class RoutingFeed {

    /** Receives events in revision order, from one thread at a time. */
    public interface Watcher {
        /** Takes one event; throwing (a broken or closed stream) drops the watcher. */
        void onEvent(RoutingEvent event);

        /** The registry is shutting down; the watcher should reconnect elsewhere or later. */
        default void onClose() {
        }
    }

    private final int historyCapacity;
    private final Map<String, RoutingEntry> current = new TreeMap<>();
    private final ArrayDeque<RoutingEntry> recent = new ArrayDeque<>();
    private final List<Watcher> watchers = new CopyOnWriteArrayList<>();
    private long revision;

    public RoutingFeed(int historyCapacity) {
        this.historyCapacity = historyCapacity;
    }

    /** Loads the committed state: every model's routing, the latest changes, the current revision. */
    public synchronized void reset(List<RoutingEntry> all, List<RoutingEntry> latestChanges, long currentRevision) {
        current.clear();
        all.forEach(e -> current.put(e.model(), e));
        recent.clear();
        latestChanges.forEach(this::remember);
        revision = currentRevision;
    }

    /** Applies and fans out one committed change; older or repeated revisions are ignored. */
    public synchronized void publish(RoutingEntry entry) {
        if (entry.revision() <= revision) {
            return;
        }
        current.put(entry.model(), entry);
        remember(entry);
        revision = entry.revision();
        var event = RoutingEvent.change(entry);
        for (var w : watchers) {
            deliver(w, event);
        }
    }

    /**
     * Registers a watcher. It first gets the changes after {@code fromRevision} when they are
     * all still held, otherwise a snapshot; then every later change.
     *
     * @return call to unsubscribe
     */
    public synchronized Runnable subscribe(long fromRevision, Watcher watcher) {
        for (var event : catchUpEvents(fromRevision)) {
            watcher.onEvent(event);
        }
        watchers.add(watcher);
        return () -> watchers.remove(watcher);
    }

    /** Ends every watch (shutdown), so streams do not hold the server open. */
    public synchronized void closeAll() {
        for (var w : watchers) {
            try {
                w.onClose();
            } catch (RuntimeException ignored) {
                // already gone
            }
        }
        watchers.clear();
    }

    public synchronized long revision() {
        return revision;
    }

    public synchronized List<RoutingEntry> snapshot() {
        return List.copyOf(current.values());
    }

    /** Synchronized: a watcher that has its catch-up events is counted (subscribe adds it under the lock). */
    public synchronized int watcherCount() {
        return watchers.size();
    }

    private List<RoutingEvent> catchUpEvents(long fromRevision) {
        if (fromRevision > 0 && fromRevision <= revision) {
            if (fromRevision == revision) {
                return List.of();
            }
            // Revisions are contiguous, so the replay is complete if it starts right after fromRevision.
            if (!recent.isEmpty() && recent.peekFirst().revision() <= fromRevision + 1) {
                List<RoutingEvent> replay = new ArrayList<>();
                for (var e : recent) {
                    if (e.revision() > fromRevision) {
                        replay.add(RoutingEvent.change(e));
                    }
                }
                return replay;
            }
        }
        return List.of(new RoutingEvent(RoutingEvent.Type.SNAPSHOT, revision, List.copyOf(current.values())));
    }

    private void remember(RoutingEntry e) {
        recent.addLast(e);
        while (recent.size() > historyCapacity) {
            recent.removeFirst();
        }
    }

    private void deliver(Watcher w, RoutingEvent event) {
        try {
            w.onEvent(event);
        } catch (RuntimeException e) {
            // A watcher whose stream broke is dropped; it will reconnect and resume.
            watchers.remove(w);
        }
    }
}
