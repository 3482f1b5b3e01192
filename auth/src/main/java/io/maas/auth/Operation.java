package io.maas.auth;

import java.util.Locale;

/** What a call does to a model, as the policy grants it. */
public enum Operation {
    /** ModelInfer, REST infer. */
    INFER,
    /** Model metadata, readiness, config. */
    METADATA,
    /** Repository load and unload: admin tenants only. */
    ADMIN;

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    static Operation of(String s) {
        return switch (s.strip().toLowerCase(Locale.ROOT)) {
            case "infer" -> INFER;
            case "metadata" -> METADATA;
            case "admin", "repository" -> ADMIN;
            default -> throw new IllegalArgumentException("operation '" + s + "' is not infer, metadata or admin");
        };
    }
}
