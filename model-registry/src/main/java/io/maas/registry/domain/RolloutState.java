package io.maas.registry.domain;

public enum RolloutState {
    RUNNING, PAUSED, PROMOTED, ABORTED;

    public boolean active() {
        return this == RUNNING || this == PAUSED;
    }
}
