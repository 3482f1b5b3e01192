package io.maas.registry.domain;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * The registry's use cases: catalog writes, routing changes with their validation, and the feed
 * of committed routing changes. Writes in this process are serialised (one lock) so revisions
 * are allocated without contention; writers in other processes sharing a PostgreSQL store are
 * caught by the store's optimistic checks.
 */
public final class Registry {

    public static final int DEFAULT_PAGE_SIZE = 100;
    public static final int MAX_PAGE_SIZE = 1000;
    static final int FEED_HISTORY = 4096;

    private final RegistryStore store;
    private final RoutingFeed feed = new RoutingFeed(FEED_HISTORY);
    private final LongSupplier clock;
    private final ReentrantLock writeLock = new ReentrantLock();

    public Registry(RegistryStore store, LongSupplier clockMillis) {
        this.store = store;
        this.clock = clockMillis;
        long revision = store.currentRevision();
        feed.reset(store.allRouting(), store.changesAfter(Math.max(0, revision - FEED_HISTORY), FEED_HISTORY), revision);
    }

    public RoutingFeed feed() {
        return feed;
    }

    // ---- catalog ----

    public Model createModel(Actor actor, String name, String description, Map<String, String> labels) {
        Validation.modelName(name);
        Validation.labels(labels);
        var model = new Model(name, nullToEmpty(description), labels, clock.getAsLong(), actor.subject());
        return write(() -> {
            store.createModel(model, audit(actor, "CreateModel", name, "", null, model, "", RoutingSource.RUNTIME));
            return model;
        });
    }

    public Model getModel(String name) {
        Validation.modelName(name);
        return store.findModel(name).orElseThrow(() -> modelNotFound(name));
    }

    public Page<Model> listModels(int pageSize, String pageToken) {
        return store.listModels(pageSize(pageSize), nullToEmpty(pageToken));
    }

    /** Registers a version as a CANDIDATE; who and when are set here, not by the caller. */
    public ModelVersion registerVersion(Actor actor, ModelVersion draft) {
        Validation.modelName(draft.model());
        Validation.versionName(draft.version());
        Validation.artifact(draft.artifactUri(), draft.sha256());
        Validation.signature("input", draft.inputs(), true);
        Validation.signature("output", draft.outputs(), false);
        Validation.labels(draft.labels());
        var version = new ModelVersion(draft.model(), draft.version(), draft.artifactUri(), draft.sha256(), draft.inputs(),
                draft.outputs(), nullToEmpty(draft.framework()), draft.labels(), nullToEmpty(draft.description()),
                Stage.CANDIDATE, clock.getAsLong(), actor.subject());
        return write(() -> {
            getModel(draft.model());
            store.insertVersion(version, audit(actor, "RegisterVersion", version.model(), version.version(), null, version, "",
                    RoutingSource.RUNTIME));
            return version;
        });
    }

    public ModelVersion getVersion(String model, String version) {
        Validation.modelName(model);
        Validation.versionName(version);
        return store.findVersion(model, version).orElseThrow(() -> versionNotFound(model, version));
    }

    public Page<ModelVersion> listVersions(String model, int pageSize, String pageToken) {
        getModel(model);
        return store.listVersions(model, pageSize(pageSize), nullToEmpty(pageToken));
    }

    public ModelVersion setStage(Actor actor, String model, String version, Stage stage, String reason) {
        if (stage == null) {
            throw RegistryException.invalid("stage is required: CANDIDATE, STABLE or ARCHIVED");
        }
        return write(() -> {
            var before = getVersion(model, version);
            if (before.stage() == stage) {
                return before;
            }
            if (stage == Stage.ARCHIVED) {
                store.findRouting(model).filter(r -> r.names(version)).ifPresent(r -> {
                    throw RegistryException.precondition("version '" + version + "' of model '" + model
                            + "' is named by its routing (" + r.describe() + "): route traffic away from it before archiving");
                });
            }
            var after = before.withStage(stage);
            store.updateStage(after, before.stage(), audit(actor, "SetStage", model, version, before, after, reason,
                    RoutingSource.RUNTIME));
            return after;
        });
    }

    // ---- routing ----

    public RoutingEntry getRouting(String model) {
        Validation.modelName(model);
        return store.findRouting(model).orElseThrow(() -> {
            getModel(model);
            return RegistryException.notFound("model '" + model + "' has no routing yet: set it with SetRouting (maasctl set-weight)");
        });
    }

    /** An API (runtime) routing change. A request equal to the current split is a no-op. */
    public RoutingEntry setRouting(Actor actor, RoutingSpec spec, boolean force, String reason, OptionalLong expectedRevision) {
        return write(() -> {
            var current = store.findRouting(spec.model());
            validateRouting(spec, force);
            checkExpected(spec.model(), current, expectedRevision);
            if (current.isPresent() && current.get().sameSplit(spec)) {
                return current.get();
            }
            return commit(actor, "SetRouting", RoutingSource.RUNTIME, spec, reason, current, null);
        });
    }

    /** Restores the routing before the model's current revision, or as set at {@code toRevision}. */
    public RoutingEntry rollback(Actor actor, String model, long toRevision, String reason, OptionalLong expectedRevision) {
        return write(() -> {
            var current = getRouting(model);
            checkExpected(model, Optional.of(current), expectedRevision);
            RoutingEntry target;
            if (toRevision > 0) {
                target = store.routingAt(model, toRevision).orElseThrow(() -> RegistryException.notFound(
                        "revision " + toRevision + " did not change model '" + model + "': pick one from its audit log (maasctl audit "
                                + model + ")"));
            } else {
                target = store.routingBefore(model, current.revision()).orElseThrow(() -> RegistryException.precondition(
                        "model '" + model + "' has no routing before revision " + current.revision() + " to roll back to"));
            }
            // The target was valid when set; only re-check that its versions still exist and are not archived.
            validateRouting(target.spec(), true);
            return commit(actor, "RollbackRouting", RoutingSource.RUNTIME, target.spec(),
                    reason == null || reason.isBlank() ? "rollback to revision " + target.revision() : reason, Optional.of(current), null);
        });
    }

    /**
     * Applies one entry of the declared routing document. Returns the new entry, or empty when the
     * split was already in place (then the declaration is only marked as applied).
     */
    public Optional<RoutingEntry> applyDeclared(RoutingSpec spec, String origin, String contentHash) {
        return write(() -> {
            validateRouting(spec, false);
            var current = store.findRouting(spec.model());
            if (current.isPresent() && current.get().sameSplit(spec)) {
                store.markDeclared(spec.model(), contentHash);
                return Optional.empty();
            }
            return Optional.of(commit(Actor.declared(origin), "DeclaredRouting", RoutingSource.DECLARED, spec,
                    "declared in " + origin, current, contentHash));
        });
    }

    /** Refuses a split whose versions are unknown, archived or (canary) incompatible with stable. */
    public void checkRoutable(RoutingSpec spec) {
        validateRouting(spec, false);
    }

    public Optional<RoutingEntry> findRouting(String model) {
        return store.findRouting(model);
    }

    /** Records a declaration's content as applied without changing the routing. */
    public void markDeclared(String model, String hash) {
        write(() -> {
            store.markDeclared(model, hash);
            return null;
        });
    }

    public Optional<String> declaredHash(String model) {
        return store.declaredHash(model);
    }

    /** Publishes changes committed by other registry processes sharing the store. */
    public void catchUp() {
        write(() -> {
            publishCommitted();
            return null;
        });
    }

    public Page<AuditRecord> listAudit(String model, int pageSize, String pageToken) {
        if (model != null && !model.isEmpty()) {
            Validation.modelName(model);
        }
        return store.listAudit(nullToEmpty(model), pageSize(pageSize), nullToEmpty(pageToken));
    }

    // ---- internals ----

    private void validateRouting(RoutingSpec spec, boolean force) {
        Validation.routing(spec);
        getModel(spec.model());
        var stable = routable(spec.model(), spec.stable(), "stable");
        if (spec.hasCanary()) {
            var canary = routable(spec.model(), spec.canary(), "canary");
            if (!force) {
                SignatureCompatibility.problem(stable.inputs(), canary.inputs()).ifPresent(problem -> {
                    throw RegistryException.precondition("canary version '" + canary.version() + "' is incompatible with stable version '"
                            + stable.version() + "': " + problem + ". Register a compatible canary, or set force=true (maasctl --force) to route anyway");
                });
            }
        }
    }

    private ModelVersion routable(String model, String version, String role) {
        var v = store.findVersion(model, version).orElseThrow(() -> RegistryException.notFound(
                role + " version '" + version + "' of model '" + model + "' is not registered: register it first (RegisterVersion / maasctl register)"));
        if (v.stage() == Stage.ARCHIVED) {
            throw RegistryException.precondition(role + " version '" + version + "' of model '" + model
                    + "' is archived: set its stage back to CANDIDATE or STABLE, or route to another version");
        }
        return v;
    }

    private static void checkExpected(String model, Optional<RoutingEntry> current, OptionalLong expected) {
        long actual = current.map(RoutingEntry::revision).orElse(0L);
        if (expected.isPresent() && expected.getAsLong() != actual) {
            throw RegistryException.conflict("routing of model '" + model + "' is at revision " + actual + ", not "
                    + expected.getAsLong() + ": someone changed it meanwhile; re-read it (GetRouting) and retry");
        }
    }

    private RoutingEntry commit(Actor actor, String action, RoutingSource source, RoutingSpec spec, String reason,
                                Optional<RoutingEntry> current, String declaredHash) {
        var draft = new RoutingEntry(spec.model(), spec.stable(), spec.canary(), spec.canaryWeight(), 0, source, actor.subject(),
                reason, clock.getAsLong());
        var committed = store.commitRouting(draft, current.map(RoutingEntry::revision).orElse(0L),
                entry -> audit(actor, action, spec.model(), "", current.orElse(null), entry, reason, source), declaredHash);
        publishCommitted();
        return committed;
    }

    private void publishCommitted() {
        List<RoutingEntry> changes;
        do {
            changes = store.changesAfter(feed.revision(), 1000);
            changes.forEach(feed::publish);
        } while (changes.size() == 1000);
    }

    private AuditRecord audit(Actor actor, String action, String model, String version, Object before, Object after,
                              String reason, RoutingSource source) {
        return new AuditRecord(0, clock.getAsLong(), actor.subject(), action, model, version, AuditJson.of(before),
                AuditJson.of(after), reason, source);
    }

    private <T> T write(java.util.function.Supplier<T> op) {
        writeLock.lock();
        try {
            return op.get();
        } finally {
            writeLock.unlock();
        }
    }

    private static int pageSize(int requested) {
        if (requested < 0) {
            throw RegistryException.invalid("page_size " + requested + " is negative: use 0 for the default (" + DEFAULT_PAGE_SIZE + ")");
        }
        return requested == 0 ? DEFAULT_PAGE_SIZE : Math.min(requested, MAX_PAGE_SIZE);
    }

    private static RegistryException modelNotFound(String name) {
        return RegistryException.notFound("model '" + name + "' does not exist: create it first (CreateModel / maasctl register)");
    }

    private static RegistryException versionNotFound(String model, String version) {
        return RegistryException.notFound("version '" + version + "' of model '" + model + "' is not registered");
    }

    private static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }
}
