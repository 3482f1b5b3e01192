package io.maas.router.domain;

import java.util.HashMap;
import java.util.Map;

/**
 * Which calls are mirrored to a shadow version: per model, one shadow version and the share of
 * calls (0-1) mirrored to it. Parsed from {@code model:version=share;model:version=share}; the
 * version {@code canary} means the routing table's canary of that model at the time of the call.
 */
public final class ShadowRules {

    /** The table's canary, resolved per call. */
    public static final String CANARY = "canary";

    public record Rule(String model, String version, double share) {
    }

    public static final ShadowRules NONE = new ShadowRules(Map.of());

    private final Map<String, Rule> byModel;

    private ShadowRules(Map<String, Rule> byModel) {
        this.byModel = Map.copyOf(byModel);
    }

    public static ShadowRules parse(String spec) {
        if (spec == null || spec.isBlank()) {
            return NONE;
        }
        Map<String, Rule> out = new HashMap<>();
        for (String part : spec.split(";")) {
            String p = part.trim();
            if (p.isEmpty()) {
                continue;
            }
            int eq = p.lastIndexOf('=');
            int colon = p.lastIndexOf(':', eq);
            if (eq < 0 || colon <= 0 || colon + 1 >= eq) {
                throw new IllegalArgumentException("shadow rule '" + p + "' is not model:version=share");
            }
            String model = p.substring(0, colon).trim();
            String version = p.substring(colon + 1, eq).trim();
            double share;
            try {
                share = Double.parseDouble(p.substring(eq + 1).trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("shadow rule '" + p + "': share is not a number");
            }
            if (!(share >= 0 && share <= 1)) {
                throw new IllegalArgumentException("shadow rule '" + p + "': share must be within 0..1");
            }
            if (out.put(model, new Rule(model, version, share)) != null) {
                throw new IllegalArgumentException("shadow rules name model '" + model + "' twice");
            }
        }
        return new ShadowRules(out);
    }

    public boolean isEmpty() {
        return byModel.isEmpty();
    }

    public Rule rule(String model) {
        return byModel.get(model);
    }

    /**
     * The version a call on {@code model} answered by {@code primaryVersion} is mirrored to, or
     * null: no rule, {@code canary} with no canary in the route, or the primary is that version.
     */
    public String shadowVersion(String model, String primaryVersion, Route route) {
        Rule r = byModel.get(model);
        if (r == null || r.share() <= 0) {
            return null;
        }
        String v = r.version();
        if (v.equals(CANARY)) {
            v = route == null ? null : route.canary();
            if (v == null || v.isEmpty()) {
                return null;
            }
        }
        return v.equals(primaryVersion) ? null : v;
    }

    @Override
    public String toString() {
        return byModel.values().toString();
    }
}
