package io.maas.registry.domain;

import java.util.List;

/** What a routing watcher receives: a full snapshot, or one model's change at {@code revision}. */
public record RoutingEvent(Type type, long revision, List<RoutingEntry> entries) {
    public enum Type { SNAPSHOT, CHANGE }

    public RoutingEvent {
        entries = List.copyOf(entries);
    }

    public static RoutingEvent change(RoutingEntry entry) {
        return new RoutingEvent(Type.CHANGE, entry.revision(), List.of(entry));
    }
}
