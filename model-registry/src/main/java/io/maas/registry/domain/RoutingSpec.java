package io.maas.registry.domain;

/** The desired traffic split of one model: what a caller asks for, before validation. */
public record RoutingSpec(String model, String stable, String canary, int canaryWeight) {
    public RoutingSpec {
        canary = canary == null ? "" : canary;
    }

    public boolean hasCanary() {
        return !canary.isEmpty();
    }
}
