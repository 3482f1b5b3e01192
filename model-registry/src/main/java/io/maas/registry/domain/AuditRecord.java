package io.maas.registry.domain;

/** One audited write: who, what, the record before and after (JSON, "" if absent), when, why. */
public record AuditRecord(long id, long atMs, String actor, String action, String model, String version,
                          String beforeJson, String afterJson, String reason, RoutingSource source) {
    public AuditRecord {
        version = version == null ? "" : version;
        beforeJson = beforeJson == null ? "" : beforeJson;
        afterJson = afterJson == null ? "" : afterJson;
        reason = reason == null ? "" : reason;
    }
}
