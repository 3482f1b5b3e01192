package io.maas.registry.domain;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class RoutingFeedTest {

    private static RoutingEntry entry(String model, long revision, int weight) {
        return new RoutingEntry(model, "1", "2", weight, revision, RoutingSource.RUNTIME, "t", "", 0);
    }

    @Test
    void freshWatcherGetsSnapshotThenChanges() {
        var feed = new RoutingFeed(10);
        feed.publish(entry("a", 1, 0));
        feed.publish(entry("b", 2, 0));
        List<RoutingEvent> seen = new ArrayList<>();
        feed.subscribe(0, seen::add);
        feed.publish(entry("a", 3, 50));
        assertEquals(RoutingEvent.Type.SNAPSHOT, seen.get(0).type());
        assertEquals(2, seen.get(0).revision());
        assertEquals(List.of("a", "b"), seen.get(0).entries().stream().map(RoutingEntry::model).toList());
        assertEquals(RoutingEvent.change(entry("a", 3, 50)), seen.get(1));
    }

    @Test
    void resumeReplaysOnlyMissedChanges() {
        var feed = new RoutingFeed(10);
        for (int r = 1; r <= 5; r++) {
            feed.publish(entry("a", r, r));
        }
        List<RoutingEvent> seen = new ArrayList<>();
        feed.subscribe(3, seen::add);
        assertEquals(List.of(4L, 5L), seen.stream().map(RoutingEvent::revision).toList());
        assertEquals(RoutingEvent.Type.CHANGE, seen.get(0).type());

        List<RoutingEvent> upToDate = new ArrayList<>();
        feed.subscribe(5, upToDate::add);
        assertEquals(List.of(), upToDate);
    }

    @Test
    void resumeFromForgottenOrFutureRevisionGetsSnapshot() {
        var feed = new RoutingFeed(2);
        for (int r = 1; r <= 5; r++) {
            feed.publish(entry("a", r, r));
        }
        List<RoutingEvent> old = new ArrayList<>();
        feed.subscribe(1, old::add); // revisions 2..3 are no longer held
        assertEquals(RoutingEvent.Type.SNAPSHOT, old.get(0).type());
        assertEquals(5, old.get(0).revision());

        List<RoutingEvent> future = new ArrayList<>();
        feed.subscribe(99, future::add); // e.g. the registry's store was replaced
        assertEquals(RoutingEvent.Type.SNAPSHOT, future.get(0).type());
    }

    @Test
    void brokenWatcherIsDropped() {
        var feed = new RoutingFeed(2);
        feed.subscribe(0, e -> {
            if (e.type() == RoutingEvent.Type.CHANGE) {
                throw new IllegalStateException("stream closed");
            }
        });
        assertEquals(1, feed.watcherCount());
        feed.publish(entry("a", 1, 0));
        assertEquals(0, feed.watcherCount());
    }
}
