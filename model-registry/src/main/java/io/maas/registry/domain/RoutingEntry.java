package io.maas.registry.domain;

/** A model's routing as committed at a global {@code revision}, with who changed it and why. */
public record RoutingEntry(String model, String stable, String canary, int canaryWeight, long revision,
                           RoutingSource source, String changedBy, String reason, long changedAtMs) {
    public RoutingEntry {
        canary = canary == null ? "" : canary;
        reason = reason == null ? "" : reason;
    }

    public RoutingSpec spec() {
        return new RoutingSpec(model, stable, canary, canaryWeight);
    }

    public boolean sameSplit(RoutingSpec other) {
        return spec().equals(other);
    }

    public String describe() {
        return "stable " + stable + (canary.isEmpty() ? "" : ", canary " + canary + " at " + canaryWeight + "%");
    }

    public boolean names(String version) {
        return stable.equals(version) || canary.equals(version);
    }
}
