package io.maas.registry.adapters;

import io.maas.registry.domain.Actor;
import io.maas.registry.domain.AuditRecord;
import io.maas.registry.domain.DeclarationApplier;
import io.maas.registry.domain.ModelVersion;
import io.maas.registry.domain.Registry;
import io.maas.registry.domain.RegistryException;
import io.maas.registry.domain.Role;
import io.maas.registry.domain.RolloutState;
import io.maas.registry.domain.Rollouts;
import io.maas.registry.domain.RoutingSpec;
import io.maas.registry.domain.ShadowWindow;
import io.maas.registry.domain.Stage;
import io.maas.registry.domain.TensorSpec;
import io.maas.registry.domain.TrafficWindow;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The rollout state machine over a real H2 store, with a fake clock: transitions, audit, restarts, people. */
class RolloutsTest {

    static final Actor ALICE = new Actor("alice", Role.WRITER);
    static final String DOC = """
            models:
              - name: m
                stable: 1
                canary: 2
                rollout:
                  steps:
                    - {weight: 10, hold: 30s}
                    - {weight: 50, hold: 1m}
                  analysis:
                    minCalls: 10
                    maxErrorRateDelta: 0.05
                    maxP99Ms: 500
            """;

    @TempDir
    Path dir;
    final AtomicLong now = new AtomicLong(1_000_000);
    JdbcRegistryStore store;
    Registry registry;
    Rollouts rollouts;
    DeclarationApplier applier;

    @BeforeEach
    void open() {
        start();
        registry.createModel(ALICE, "m", "", Map.of());
        var inputs = List.of(new TensorSpec("x", "FP32", List.of(-1L)));
        for (String v : List.of("1", "2")) {
            registry.registerVersion(ALICE, new ModelVersion("m", v, "file:///m/" + v, "ab".repeat(32), inputs, inputs, "onnx",
                    Map.of(), "", Stage.CANDIDATE, 0, ""));
        }
        registry.setRouting(ALICE, new RoutingSpec("m", "1", "", 0), false, "start", OptionalLong.empty());
    }

    /** The store the rollouts run on (H2 here; PostgresRolloutsTest runs the same on PostgreSQL). */
    StoreConfig config() {
        return StoreConfig.h2(dir);
    }

    void start() {
        store = JdbcStores.open(config());
        registry = new Registry(store, now::get);
        rollouts = new Rollouts(registry, store, now::get);
        applier = new DeclarationApplier(registry, rollouts, "file:test");
    }

    @AfterEach
    void close() {
        store.close();
    }

    void traffic(long stableCalls, long canaryCalls, long canaryFaults) {
        rollouts.report("router-a", List.of(
                new Rollouts.VersionReport("m", "1", new TrafficWindow(stableCalls, 0, Map.of(40, stableCalls))),
                new Rollouts.VersionReport("m", "2", new TrafficWindow(canaryCalls, canaryFaults, Map.of(40, canaryCalls)))), List.of());
    }

    void advance(long ms) {
        now.addAndGet(ms);
        rollouts.tick();
    }

    List<String> actions() {
        return registry.listAudit("m", 100, "").items().stream().map(AuditRecord::action).toList();
    }

    @Test
    void healthyCandidateGoesThroughEveryStepToPromotion() {
        applier.declareModels(DeclaredRoutingDocument.parseModels(DOC, "file:test"));
        assertEquals(10, registry.getRouting("m").canaryWeight());
        traffic(90, 10, 0);
        advance(29_000);
        assertEquals(0, rollouts.get("m").orElseThrow().step(), "held: 29 s of 30");
        advance(1_000);
        var r = rollouts.get("m").orElseThrow();
        assertEquals(1, r.step());
        assertEquals(50, registry.getRouting("m").canaryWeight());
        assertEquals(0, r.canaryWindow().calls(), "a new step starts a new window");
        traffic(50, 50, 0);
        advance(59_000);
        assertEquals(RolloutState.RUNNING, rollouts.get("m").orElseThrow().state());
        advance(1_000);
        assertEquals(RolloutState.PROMOTED, rollouts.get("m").orElseThrow().state());
        var routing = registry.getRouting("m");
        assertEquals("2", routing.stable());
        assertEquals("", routing.canary());
        assertEquals(Stage.STABLE, registry.getVersion("m", "2").stage());
        var actions = actions();
        assertTrue(actions.containsAll(List.of("RolloutStarted", "RolloutAdvanced", "RolloutPromoted")), actions.toString());
        var promoted = registry.listAudit("m", 100, "").items().stream().filter(a -> a.action().equals("RolloutPromoted")).findFirst()
                .orElseThrow();
        assertTrue(promoted.reason().contains("canary 2: 50 calls, 0 server faults"), promoted.reason());
        // An unchanged declaration never restarts it.
        applier.declareModels(DeclaredRoutingDocument.parseModels(DOC, "file:test"));
        advance(1_000);
        assertEquals(RolloutState.PROMOTED, rollouts.get("m").orElseThrow().state());
        assertEquals("2", registry.getRouting("m").stable());
    }

    @Test
    void failingCandidateIsAbortedAtTheFirstBrokenGateAndStableKeepsServing() {
        applier.declareModels(DeclaredRoutingDocument.parseModels(DOC, "file:test"));
        traffic(90, 5, 5);
        advance(1_000);
        assertEquals(RolloutState.RUNNING, rollouts.get("m").orElseThrow().state(), "below minCalls: no verdict");
        traffic(90, 5, 0);
        advance(1_000);
        var r = rollouts.get("m").orElseThrow();
        assertEquals(RolloutState.ABORTED, r.state());
        assertTrue(r.note().contains("gate error_rate broken"), r.note());
        var routing = registry.getRouting("m");
        assertEquals(0, routing.canaryWeight());
        assertEquals("1", routing.stable());
        // Not restarted by the same declaration, also after a restart.
        store.close();
        start();
        applier.declareModels(DeclaredRoutingDocument.parseModels(DOC, "file:test"));
        advance(1_000);
        assertEquals(RolloutState.ABORTED, rollouts.get("m").orElseThrow().state());
        assertEquals(0, registry.getRouting("m").canaryWeight());
    }

    @Test
    void aRestartResumesTheRolloutWithItsStepAndEvidence() {
        applier.declareModels(DeclaredRoutingDocument.parseModels(DOC, "file:test"));
        traffic(90, 10, 0);
        advance(10_000);
        store.close();
        start();
        applier.declareModels(DeclaredRoutingDocument.parseModels(DOC, "file:test"));
        var r = rollouts.get("m").orElseThrow();
        assertEquals(0, r.step());
        assertEquals(10, r.canaryWindow().calls(), "evidence saved by the tick before the restart");
        advance(20_000);
        assertEquals(1, rollouts.get("m").orElseThrow().step(), "30 s after the step started, not after the restart");
        assertEquals(1, actions().stream().filter("RolloutStarted"::equals).count());
    }

    @Test
    void aPersonsRoutingChangeEndsTheRollout() {
        applier.declareModels(DeclaredRoutingDocument.parseModels(DOC, "file:test"));
        advance(1_000);
        registry.setRouting(ALICE, new RoutingSpec("m", "1", "2", 0), false, "not today", OptionalLong.empty());
        advance(1_000);
        var r = rollouts.get("m").orElseThrow();
        assertEquals(RolloutState.ABORTED, r.state());
        assertTrue(r.note().contains("routing changed outside the rollout") && r.note().contains("alice"), r.note());
        advance(60_000);
        assertEquals(0, registry.getRouting("m").canaryWeight());
    }

    @Test
    void pauseResumePromoteAndAbortByAPerson() {
        applier.declareModels(DeclaredRoutingDocument.parseModels(DOC, "file:test"));
        rollouts.control(ALICE, "m", Rollouts.Action.PAUSE, "looking");
        traffic(90, 10, 0);
        advance(120_000);
        assertEquals(0, rollouts.get("m").orElseThrow().step(), "paused: never advances");
        assertEquals("paused by alice: looking", rollouts.get("m").orElseThrow().note(), "the note says who paused it, however long");
        rollouts.control(ALICE, "m", Rollouts.Action.RESUME, "");
        advance(1_000);
        assertEquals(1, rollouts.get("m").orElseThrow().step());
        rollouts.control(ALICE, "m", Rollouts.Action.PROMOTE, "good enough");
        assertEquals("2", registry.getRouting("m").stable());
        var e = assertThrows(RegistryException.class, () -> rollouts.control(ALICE, "m", Rollouts.Action.ABORT, ""));
        assertTrue(e.getMessage().contains("has ended (PROMOTED"), e.getMessage());
        assertTrue(actions().containsAll(List.of("RolloutPaused", "RolloutResumed", "RolloutPromoted")));
    }

    @Test
    void pauseStepWaitsForResumeAndDeclarationWithoutRolloutEndsIt() {
        String doc = DOC.replace("- {weight: 50, hold: 1m}", "- {pause: true}\n        - {weight: 50, hold: 1m}");
        applier.declareModels(DeclaredRoutingDocument.parseModels(doc, "file:test"));
        traffic(90, 10, 0);
        advance(30_000);
        var r = rollouts.get("m").orElseThrow();
        assertEquals(RolloutState.PAUSED, r.state());
        assertEquals(10, registry.getRouting("m").canaryWeight(), "a pause step keeps the weight before it");
        advance(600_000);
        assertEquals(1, rollouts.get("m").orElseThrow().step());
        rollouts.control(ALICE, "m", Rollouts.Action.RESUME, "");
        assertEquals(50, registry.getRouting("m").canaryWeight());
        // helm rollback to values without a rollout: it ends, the declared split applies.
        applier.declareModels(DeclaredRoutingDocument.parseModels("models: [{name: m, stable: 1, canary: 2, weight: 0}]", "file:test"));
        advance(1_000);
        assertEquals(RolloutState.ABORTED, rollouts.get("m").orElseThrow().state());
        assertEquals(0, registry.getRouting("m").canaryWeight());
    }

    @Test
    void shadowDriftStopsTheRollout() {
        applier.declareModels(DeclaredRoutingDocument.parseModels(DOC.replace("maxP99Ms: 500",
                "maxP99Ms: 500\n        shadow: {minCosine: 0.9999, minCompared: 5}"), "file:test"));
        traffic(90, 10, 0);
        rollouts.report("router-b", List.of(), List.of(new Rollouts.ShadowReport("m", "1", "2", new ShadowWindow(5, 5 * 0.998, 0.997, 0.2))));
        advance(1_000);
        var r = rollouts.get("m").orElseThrow();
        assertEquals(RolloutState.ABORTED, r.state());
        assertTrue(r.note().contains("gate shadow_cosine broken"), r.note());
    }

    @Test
    void malformedRolloutsAreRefusedWithTheirPlace() {
        var e = assertThrows(RegistryException.class, () -> DeclaredRoutingDocument.parseModels(
                "models: [{name: m, stable: 1, canary: 2, rollout: {steps: [{weight: 10, hold: 5x}]}}]", "f"));
        assertTrue(e.getMessage().contains("steps[0] hold: '5x' is not a duration"), e.getMessage());
        e = assertThrows(RegistryException.class, () -> DeclaredRoutingDocument.parseModels(
                "models: [{name: m, stable: 1, rollout: {steps: [{weight: 10, hold: 5s}]}}]", "f"));
        assertTrue(e.getMessage().contains("without a canary"), e.getMessage());
        e = assertThrows(RegistryException.class, () -> DeclaredRoutingDocument.parseModels(
                "models: [{name: m, stable: 1, canary: 2, rollout: {steps: [{weight: 10, hold: 5s}], analysis: {minCall: 3}}}]", "f"));
        assertTrue(e.getMessage().contains("unknown key 'minCall'"), e.getMessage());
    }
}
