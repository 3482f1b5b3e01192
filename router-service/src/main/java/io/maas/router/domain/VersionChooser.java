package io.maas.router.domain;

import java.util.List;

import java.util.concurrent.ThreadLocalRandom;

/**
 * Picks the version a call goes to. Precedence: the request's own model_version; the
 * {@code x-model-version} pin header; {@code x-maas-canary: always|never}; the sticky
 * {@code x-routing-key} (hashed into 0-99, canary when below the weight, so one key keeps its
 * version while the weight does not cross it, and raising the weight only moves keys onto the
 * canary); otherwise a weighted random split.
 */
public final class VersionChooser {

    public record Choice(String version, String track, String reason) {
    }

    /** No version can be chosen for a model; the message says why. */
    public static final class NoRoute extends RuntimeException {
        NoRoute(String message) {
            super(message, null, false, false);
        }
    }

    private VersionChooser() {
    }

    /**
     * {@link #choose}, and for a model without routing the single version its endpoints serve (local
     * runs without a registry).
     *
     * @param endpointVersions versions that have endpoints for this model
     * @throws NoRoute when the model has no routing and not exactly one version with endpoints
     */
    public static Choice chooseOrOnlyVersion(String model, Route route, List<String> endpointVersions,
                                             String explicitVersion, String pinHeader, String canaryHeader,
                                             String routingKey) {
        Choice choice = choose(route, explicitVersion, pinHeader, canaryHeader, routingKey);
        if (choice != null) {
            return choice;
        }
        if (endpointVersions.size() != 1) {
            throw new NoRoute("model '" + model + "' has no routing in the registry"
                    + (endpointVersions.isEmpty() ? " and no endpoints"
                    : " and endpoints for several versions " + endpointVersions + ": name a version"));
        }
        return new Choice(endpointVersions.get(0), "stable", "only-version");
    }

    public static Choice choose(Route route, String explicitVersion, String pinHeader, String canaryHeader,
            String routingKey) {
        if (explicitVersion != null && !explicitVersion.isEmpty()) {
            return new Choice(explicitVersion, track(route, explicitVersion), "explicit");
        }
        if (pinHeader != null && !pinHeader.isEmpty()) {
            return new Choice(pinHeader, track(route, pinHeader), "pin");
        }
        if (route == null) {
            return null;
        }
        if (!route.hasCanary()) {
            return new Choice(route.stable(), "stable", "stable-only");
        }
        if (canaryHeader != null && !canaryHeader.isEmpty()) {
            if (canaryHeader.equalsIgnoreCase("always")) {
                return new Choice(route.canary(), "canary", "canary-header");
            }
            if (canaryHeader.equalsIgnoreCase("never")) {
                return new Choice(route.stable(), "stable", "canary-header");
            }
        }
        int slot;
        String reason;
        if (routingKey != null && !routingKey.isEmpty()) {
            slot = bucket(route.model(), routingKey);
            reason = "sticky";
        } else {
            slot = ThreadLocalRandom.current().nextInt(100);
            reason = "weighted";
        }
        return slot < route.canaryWeight()
                ? new Choice(route.canary(), "canary", reason)
                : new Choice(route.stable(), "stable", reason);
    }

    private static String track(Route route, String version) {
        return route == null ? "other" : route.trackOf(version);
    }

    /** A key's slot in 0-99 for a model: FNV-1a over model and key, then a murmur finalizer. */
    public static int bucket(String model, String key) {
        long h = 0xcbf29ce484222325L;
        for (int i = 0; i < model.length(); i++) {
            h = (h ^ model.charAt(i)) * 0x100000001b3L;
        }
        h = (h ^ 0xff) * 0x100000001b3L;
        for (int i = 0; i < key.length(); i++) {
            h = (h ^ key.charAt(i)) * 0x100000001b3L;
        }
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return (int) Long.remainderUnsigned(h, 100);
    }
}
