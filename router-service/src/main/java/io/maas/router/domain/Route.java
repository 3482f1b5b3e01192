package io.maas.router.domain;

/** One model's split between its stable and (optional) canary version, as held in memory. */
public record Route(String model, String stable, String canary, int canaryWeight, long revision, String reason) {

    public Route(String model, String stable, String canary, int canaryWeight, long revision) {
        this(model, stable, canary, canaryWeight, revision, "");
    }

    public boolean hasCanary() {
        return canary != null && !canary.isEmpty() && canaryWeight > 0;
    }

    /** The track a version plays in this route: stable, canary, or other (explicitly named, outside the split). */
    public String trackOf(String version) {
        if (version.equals(stable)) {
            return "stable";
        }
        if (canary != null && version.equals(canary)) {
            return "canary";
        }
        return "other";
    }
}
