package io.maas.inference.domain;

/**
 * One version of a model: READY with a runner and its scheduler, or UNAVAILABLE with the reason.
 */
public record ModelVersion(String model, long version, ModelState state, String reason,
                           ModelRunner runner, Scheduler scheduler) {

    public static ModelVersion ready(String model, long version, ModelRunner runner, Scheduler scheduler) {
        return new ModelVersion(model, version, ModelState.READY, "", runner, scheduler);
    }

    public static ModelVersion unavailable(String model, long version, String reason) {
        return new ModelVersion(model, version, ModelState.UNAVAILABLE, reason, null, null);
    }

    public boolean isReady() {
        return state == ModelState.READY;
    }

    public String versionLabel() {
        return Long.toString(version);
    }
}
