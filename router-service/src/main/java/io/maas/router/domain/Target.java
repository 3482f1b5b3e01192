package io.maas.router.domain;

/**
 * Where a call goes: the chosen version of the model and the track it plays.
 *
 * @param route the model's routing when the choice was made (null without routing)
 * @param split whether the routing's weighted (or sticky) split chose the version, rather than the
 *              caller naming it: only then may the router answer from another version
 */
public record Target(ModelKey key, String track, Route route, boolean split) {

    public Target(ModelKey key, String track, Route route) {
        this(key, track, route, false);
    }

    /** A call the split sent to the canary, and that may be answered by stable when the canary fails. */
    boolean splitToCanary() {
        return split && route != null && "canary".equals(track) && route.hasCanary();
    }

    /** The same call sent to stable instead. */
    Target toStable() {
        return new Target(new ModelKey(key.model(), route.stable()), "stable", route, true);
    }
}
