package io.maas.registry.domain;

import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * Durable state of the registry. Every write is one transaction that also appends its audit
 * record, so an acknowledged write and its audit trail are never separated.
 */
public interface RegistryStore extends AutoCloseable {

    /** @throws RegistryException ALREADY_EXISTS if the name is taken */
    void createModel(Model model, AuditRecord audit);

    Optional<Model> findModel(String name);

    Page<Model> listModels(int pageSize, String pageToken);

    /** @throws RegistryException ALREADY_EXISTS if the version is taken */
    void insertVersion(ModelVersion version, AuditRecord audit);

    Optional<ModelVersion> findVersion(String model, String version);

    Page<ModelVersion> listVersions(String model, int pageSize, String pageToken);

    /** @throws RegistryException ABORTED if the stored stage is no longer {@code expected} */
    void updateStage(ModelVersion updated, Stage expected, AuditRecord audit);

    Optional<RoutingEntry> findRouting(String model);

    List<RoutingEntry> allRouting();

    /** Highest committed routing revision, 0 when none. */
    long currentRevision();

    /**
     * Commits {@code entry} as the model's routing at the next global revision, if the model's
     * routing is still at {@code expectedModelRevision} (0: the model had none).
     *
     * @param declaredHash when not null, also records this declaration content as applied
     * @throws RegistryException ABORTED when another writer got there first
     */
    RoutingEntry commitRouting(RoutingEntry entry, long expectedModelRevision,
                               Function<RoutingEntry, AuditRecord> audit, String declaredHash);

    /** Routing changes with a revision above {@code revision}, oldest first. */
    List<RoutingEntry> changesAfter(long revision, int limit);

    /** The model's routing as set at exactly {@code revision}. */
    Optional<RoutingEntry> routingAt(String model, long revision);

    /** The model's last routing set before {@code revision}. */
    Optional<RoutingEntry> routingBefore(String model, long revision);

    /** Hash of the declared routing last applied to the model, if any. */
    Optional<String> declaredHash(String model);

    void markDeclared(String model, String hash);

    Optional<Rollout> findRollout(String model);

    /** Every model's latest rollout, ended ones too. */
    List<Rollout> allRollouts();

    /** Saves the model's rollout (replacing the one before), with {@code audit} when not null, in one transaction. */
    void saveRollout(Rollout rollout, AuditRecord audit);

    /** Newest first. */
    Page<AuditRecord> listAudit(String model, int pageSize, String pageToken);

    @Override
    void close();
}
