package io.maas.registry.domain;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * Runs every model's rollout: starts one when a declaration asks for it, sums the routers' traffic
 * reports into the current step's window, and once per tick reconciles the routing and applies
 * the {@link RolloutEngine}'s verdict. Every transition is saved before the routing it implies is
 * written (a restart then finishes the write), and goes to the audit log with its evidence.
 * A routing change the rollout did not make (a person's set-weight, the router's auto-abort, a
 * declaration without a rollout) ends it: a person's change wins over the schedule.
 */
public final class Rollouts {

    private static final System.Logger LOG = System.getLogger(Rollouts.class.getName());
    public static final Actor ACTOR = new Actor("rollout", Role.ADMIN);

    public enum Action { PAUSE, RESUME, PROMOTE, ABORT }

    /** One router's report for one version, or one shadow pairing. */
    public record VersionReport(String model, String version, TrafficWindow traffic) {
    }

    public record ShadowReport(String model, String version, String shadowVersion, ShadowWindow comparisons) {
    }

    private final Registry registry;
    private final RegistryStore store;
    private final LongSupplier clock;
    /** Rollouts not yet settled, as last saved plus the evidence reported since (saved each tick). */
    private final Map<String, Rollout> live = new HashMap<>();
    private final Map<String, Long> routers = new HashMap<>();
    private final List<RolloutEvents> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();

    public Rollouts(Registry registry, RegistryStore store, LongSupplier clockMillis) {
        this.registry = registry;
        this.store = store;
        this.clock = clockMillis;
        for (var r : store.allRollouts()) {
            if (!r.settled()) {
                live.put(r.model(), r);
            }
        }
    }

    /** Adds a listener of transitions (called on the evaluating thread: it must not block). */
    public void onTransition(RolloutEvents listener) {
        listeners.add(listener);
    }

    public synchronized Optional<Rollout> get(String model) {
        Validation.modelName(model);
        var r = live.get(model);
        return r != null ? Optional.of(r) : store.findRollout(model);
    }

    public synchronized List<Rollout> all() {
        var out = new ArrayList<Rollout>();
        for (var r : store.allRollouts()) {
            out.add(live.getOrDefault(r.model(), r));
        }
        return out;
    }

    /** Routers that reported within the last 30 s. */
    public synchronized int reportingRouters() {
        long now = clock.getAsLong();
        routers.values().removeIf(t -> now - t > 30_000);
        return routers.size();
    }

    /**
     * A declaration with a rollout (its content changed, or was never applied). An active rollout
     * of the same declaration goes on; any other active one is ended as superseded.
     */
    public synchronized void declare(RoutingSpec spec, RolloutPlan plan, String origin, String hash) {
        validate(spec, plan);
        registry.checkRoutable(spec);
        long now = clock.getAsLong();
        var current = live.get(spec.model());
        if (current != null && current.state().active() && hash.equals(current.declarationHash())) {
            registry.markDeclared(spec.model(), hash);
            return;
        }
        if (current != null && current.state().active()) {
            end(current.withState(RolloutState.ABORTED, "superseded by a new declaration in " + origin, now), "RolloutAborted",
                    Actor.declared(origin), false);
        }
        var started = new Rollout(spec.model(), spec.stable(), spec.canary(), plan, RolloutState.RUNNING, 0, now, now, -1,
                TrafficWindow.EMPTY, TrafficWindow.EMPTY, ShadowWindow.EMPTY, "started", "declared:" + origin, hash, false, now);
        if (plan.steps().get(0).pause()) {
            started = started.withState(RolloutState.PAUSED, "pause step: waiting for a person's resume", now);
        }
        save(started, "RolloutStarted", Actor.declared(origin), "declared in " + origin + ": " + describe(plan), RoutingSource.DECLARED);
        registry.markDeclared(spec.model(), hash);
        reconcileRouting(started);
    }

    /** The model's declaration changed and declares no rollout: an active rollout ends (helm rollback). */
    public synchronized void declaredWithoutRollout(String model, String origin) {
        var current = live.get(model);
        if (current != null && current.state().active()) {
            // The declaration's own routing is applied next by the declaration applier, so no write here.
            end(current.withState(RolloutState.ABORTED, "the declaration in " + origin + " no longer declares a rollout",
                    clock.getAsLong()).settledNow(), "RolloutAborted", Actor.declared(origin), false);
        }
    }

    /** Adds one router's report to the windows of the rollouts it concerns. */
    public synchronized void report(String router, List<VersionReport> versions, List<ShadowReport> shadows) {
        routers.put(router == null || router.isBlank() ? "unnamed" : router, clock.getAsLong());
        for (var v : versions) {
            var r = live.get(v.model());
            if (r == null || !r.state().active()) {
                continue;
            }
            if (v.version().equals(r.stable())) {
                live.put(r.model(), r.withEvidence(v.traffic(), TrafficWindow.EMPTY, ShadowWindow.EMPTY));
            } else if (v.version().equals(r.candidate())) {
                live.put(r.model(), r.withEvidence(TrafficWindow.EMPTY, v.traffic(), ShadowWindow.EMPTY));
            }
        }
        for (var s : shadows) {
            var r = live.get(s.model());
            if (r != null && r.state().active() && s.version().equals(r.stable()) && s.shadowVersion().equals(r.candidate())) {
                live.put(r.model(), r.withEvidence(TrafficWindow.EMPTY, TrafficWindow.EMPTY, s.comparisons()));
            }
        }
    }

    /** Reconciles and judges every unsettled rollout; called about once a second. */
    public synchronized void tick() {
        for (var r : List.copyOf(live.values())) {
            try {
                tick(r);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "rollout of {0}: {1} (retrying)", r.model(), e.getMessage());
            }
        }
    }

    private void tick(Rollout r) {
        long now = clock.getAsLong();
        if (!r.state().active()) {
            reconcileRouting(r);
            return;
        }
        r = reconcileRouting(r);
        if (r == null || !r.state().active()) {
            return;
        }
        var verdict = RolloutEngine.judge(r, now);
        switch (verdict.kind()) {
            case HOLD -> {
                // Saved each tick (no audit record): the evidence survives a registry restart. A paused
                // rollout keeps its note (who paused it and why).
                live.put(r.model(), r.state() == RolloutState.PAUSED ? r : r.withNote(verdict.message(), now));
                store.saveRollout(live.get(r.model()), null);
            }
            case ADVANCE -> advance(r, verdict.message() + "; " + r.evidence(), ACTOR, now);
            case PROMOTE -> end(r.withState(RolloutState.PROMOTED, verdict.message() + "; " + r.evidence(), now), "RolloutPromoted",
                    ACTOR, true);
            case ABORT -> end(r.withState(RolloutState.ABORTED, verdict.message() + "; " + r.evidence(), now), "RolloutAborted",
                    ACTOR, true);
        }
    }

    /** A person's command. */
    public synchronized Rollout control(Actor actor, String model, Action action, String reason) {
        Validation.modelName(model);
        var r = live.get(model);
        if (r == null || !r.state().active()) {
            var ended = r != null ? Optional.of(r) : store.findRollout(model);
            if (ended.isEmpty()) {
                throw RegistryException.notFound("model '" + model + "' has no rollout: declare one with the model's routing (docs/rollouts.md)");
            }
            throw RegistryException.precondition("the rollout of '" + model + "' has ended (" + ended.get().state() + ": "
                    + ended.get().note() + "): declare a new one to roll out again");
        }
        long now = clock.getAsLong();
        String by = actor.subject() + (reason == null || reason.isBlank() ? "" : ": " + reason);
        switch (action) {
            case PAUSE -> {
                if (r.state() == RolloutState.RUNNING) {
                    r = r.withState(RolloutState.PAUSED, "paused by " + by, now);
                    save(r, "RolloutPaused", actor, r.note() + "; " + r.evidence(), RoutingSource.RUNTIME);
                }
            }
            case RESUME -> {
                if (r.state() == RolloutState.PAUSED) {
                    if (r.currentStep().pause()) {
                        if (r.step() == r.plan().steps().size() - 1) {
                            end(r.withState(RolloutState.PROMOTED, "resumed after the last (pause) step by " + by, now), "RolloutPromoted",
                                    actor, true);
                        } else {
                            advance(r.withState(RolloutState.RUNNING, r.note(), now), "resumed by " + by, actor, now);
                        }
                    } else {
                        r = r.withState(RolloutState.RUNNING, "resumed by " + by, now);
                        save(r, "RolloutResumed", actor, r.note(), RoutingSource.RUNTIME);
                    }
                }
            }
            case PROMOTE -> end(r.withState(RolloutState.PROMOTED, "promoted by " + by + " at step " + (r.step() + 1), now),
                    "RolloutPromoted", actor, true);
            case ABORT -> end(r.withState(RolloutState.ABORTED, "aborted by " + by + " at step " + (r.step() + 1), now),
                    "RolloutAborted", actor, true);
        }
        return live.getOrDefault(model, store.findRollout(model).orElseThrow());
    }

    // ---- internals ----

    private void advance(Rollout r, String why, Actor actor, long now) {
        int next = r.step() + 1;
        var step = r.plan().steps().get(next);
        var entered = r.atStep(next, step.pause() ? RolloutState.PAUSED : RolloutState.RUNNING,
                step.pause() ? "pause step: waiting for a person's resume" : "entered step " + (next + 1), now);
        save(entered, "RolloutAdvanced", actor, "step " + (next + 1) + "/" + r.plan().steps().size() + " (" + step.describe()
                + ") after " + why, RoutingSource.RUNTIME);
        reconcileRouting(entered);
    }

    /** Ends a rollout: saved with its audit record first, then its final routing is written. */
    private void end(Rollout r, String action, Actor actor, boolean writeRouting) {
        save(r, action, actor, r.note(), RoutingSource.RUNTIME);
        LOG.log(System.Logger.Level.INFO, "rollout of {0} {1}: {2}", r.model(), r.state(), r.note());
        if (writeRouting) {
            reconcileRouting(r);
        }
    }

    /**
     * Brings the model's routing to what the rollout wants. Returns the rollout as it stands
     * afterwards, or null when it was ended because someone else changed the routing.
     */
    private Rollout reconcileRouting(Rollout r) {
        var current = registry.findRouting(r.model());
        var desired = r.desiredRouting();
        if (current.isPresent() && r.routingRevision() >= 0 && current.get().revision() != r.routingRevision()) {
            var c = current.get();
            if (c.sameSplit(desired)) {
                r = r.withRoutingRevision(c.revision());
            } else if (r.state().active()) {
                end(r.withState(RolloutState.ABORTED, "routing changed outside the rollout at revision " + c.revision() + " by "
                        + c.changedBy() + " (" + c.describe() + (c.reason().isEmpty() ? "" : ": " + c.reason()) + ")",
                        clock.getAsLong()).settledNow(), "RolloutAborted", new Actor(c.changedBy(), Role.ADMIN), false);
                return null;
            } else {
                // Ended, and someone has already set the routing since: theirs stands.
                r = r.settledNow();
                store.saveRollout(r, null);
                live.remove(r.model());
                return r;
            }
        }
        if (current.isEmpty() || !current.get().sameSplit(desired)) {
            var written = registry.setRouting(ACTOR, desired, false, rolloutReason(r), java.util.OptionalLong.of(
                    current.map(RoutingEntry::revision).orElse(0L)));
            r = r.withRoutingRevision(written.revision());
            if (r.state() == RolloutState.PROMOTED) {
                registry.setStage(ACTOR, r.model(), r.candidate(), Stage.STABLE, "promoted by its rollout");
            }
        } else if (r.routingRevision() < 0) {
            r = r.withRoutingRevision(current.get().revision());
        }
        if (!r.state().active()) {
            r = r.settledNow();
        }
        store.saveRollout(r, null);
        if (r.settled()) {
            live.remove(r.model());
        } else {
            live.put(r.model(), r);
        }
        return r;
    }

    private static String rolloutReason(Rollout r) {
        return switch (r.state()) {
            case RUNNING, PAUSED -> "rollout step " + (r.step() + 1) + "/" + r.plan().steps().size() + ": canary " + r.candidate()
                    + " at " + r.weight() + "%";
            case PROMOTED -> "rollout promoted " + r.candidate() + ": " + r.note();
            case ABORTED -> "rollout aborted: " + r.note();
        };
    }

    private void save(Rollout r, String action, Actor actor, String reason, RoutingSource source) {
        var before = store.findRollout(r.model()).orElse(null);
        // Stamped with the time the transition was decided, so the audit log shows each step's true hold.
        store.saveRollout(r, new AuditRecord(0, r.updatedAtMs(), actor.subject(), action, r.model(), r.candidate(),
                AuditJson.of(before == null ? null : summary(before)), AuditJson.of(summary(r)), reason, source));
        if (r.settled()) {
            live.remove(r.model());
        } else {
            live.put(r.model(), r);
        }
        for (var l : listeners) {
            try {
                l.transition(r, action, reason);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "rollout listener failed: " + e.getMessage());
            }
        }
    }

    /** What the audit log keeps of a rollout: where it stood and the step's evidence figures. */
    private static Map<String, Object> summary(Rollout r) {
        var m = new java.util.LinkedHashMap<String, Object>();
        m.put("state", r.state().name());
        m.put("step", r.step() + 1);
        m.put("steps", r.plan().steps().size());
        m.put("weight", r.weight());
        m.put("stable", r.stable());
        m.put("candidate", r.candidate());
        m.put("canaryCalls", r.canaryWindow().calls());
        m.put("canaryServerFaults", r.canaryWindow().serverFaults());
        m.put("canaryP99Ms", round(r.canaryWindow().p99Ms()));
        m.put("stableCalls", r.stableWindow().calls());
        m.put("stableServerFaults", r.stableWindow().serverFaults());
        m.put("stableP99Ms", round(r.stableWindow().p99Ms()));
        m.put("shadowCompared", r.shadowWindow().compared());
        m.put("shadowMeanCosine", r.shadowWindow().meanCosine());
        m.put("shadowMaxAbsDiff", r.shadowWindow().maxAbsDiff());
        m.put("stepStartedAtMs", r.stepStartedAtMs());
        return m;
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    private static String describe(RolloutPlan plan) {
        var s = new StringBuilder("canary steps ");
        for (int i = 0; i < plan.steps().size(); i++) {
            s.append(i == 0 ? "" : ", ").append(plan.steps().get(i).describe());
        }
        return s.append("; gates: ").append(plan.gates().describe()).toString();
    }

    static void validate(RoutingSpec spec, RolloutPlan plan) {
        if (!spec.hasCanary()) {
            throw RegistryException.invalid("model '" + spec.model() + "' declares a rollout without a canary: set canary to the candidate version");
        }
        if (plan.steps().isEmpty()) {
            throw RegistryException.invalid("the rollout of '" + spec.model() + "' has no steps: list at least one {weight, hold}");
        }
        for (var s : plan.steps()) {
            if (s.weight() < 0 || s.weight() > 100) {
                throw RegistryException.invalid("the rollout of '" + spec.model() + "' has a step weight " + s.weight() + ": use 0-100");
            }
            if (s.holdSeconds() < 0) {
                throw RegistryException.invalid("the rollout of '" + spec.model() + "' has a negative hold");
            }
        }
        if (plan.gates().minCalls() < 0 || plan.gates().minShadowCompared() < 0) {
            throw RegistryException.invalid("the rollout of '" + spec.model() + "' has a negative minimum");
        }
    }
}
