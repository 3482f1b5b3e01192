package io.maas.router.domain;

/** What the canary guard reports besides its log line (adapters/RouterMetrics). */
public interface CanaryEvents {

    /** One automatic abort of {@code version} of {@code model}; {@code reason} is error_rate or p99. */
    void canaryAbort(String model, String version, String reason);
}
