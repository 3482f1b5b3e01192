package io.maas.registry.adapters;

import io.maas.registry.domain.Actor;
import io.maas.registry.domain.DeclarationApplier;
import io.maas.registry.domain.ModelVersion;
import io.maas.registry.domain.Registry;
import io.maas.registry.domain.RegistryException;
import io.maas.registry.domain.Role;
import io.maas.registry.domain.RoutingEntry;
import io.maas.registry.domain.RoutingEvent;
import io.maas.registry.domain.RoutingSource;
import io.maas.registry.domain.RoutingSpec;
import io.maas.registry.domain.Stage;
import io.maas.registry.domain.TensorSpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The registry's behaviour over a real store; run against H2 files and against PostgreSQL. */
abstract class RegistryStoreContract {

    static final Actor ALICE = new Actor("alice", Role.WRITER);
    static final String SHA = "ab".repeat(32);
    static final List<TensorSpec> INPUTS = List.of(new TensorSpec("input_ids", "INT64", List.of(-1L, -1L)));

    JdbcRegistryStore store;
    Registry registry;

    abstract StoreConfig config();

    @BeforeEach
    void open() {
        store = JdbcStores.open(config());
        registry = new Registry(store, System::currentTimeMillis);
    }

    @AfterEach
    void close() {
        store.close();
    }

    Registry reopen() {
        store.close();
        store = JdbcStores.open(config());
        registry = new Registry(store, System::currentTimeMillis);
        return registry;
    }

    void register(String model, String version, List<TensorSpec> inputs) {
        try {
            registry.createModel(ALICE, model, "", Map.of());
        } catch (RegistryException e) {
            assertEquals(RegistryException.Kind.ALREADY_EXISTS, e.kind());
        }
        registry.registerVersion(ALICE, new ModelVersion(model, version, "file:///m/" + model + "/" + version + "/model.onnx", SHA, inputs,
                List.of(), "onnx", Map.of("quant", "none"), "", Stage.CANDIDATE, 0, ""));
    }

    RoutingEntry route(String model, String stable, String canary, int weight) {
        return registry.setRouting(ALICE, new RoutingSpec(model, stable, canary, weight), false, "test", OptionalLong.empty());
    }

    static void refused(RegistryException.Kind kind, String messagePart, Executable op) {
        var e = assertThrows(RegistryException.class, op::run);
        assertEquals(kind, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains(messagePart), e.getMessage());
    }

    @FunctionalInterface
    interface Executable {
        void run();
    }

    @Test
    void catalogSurvivesReopenWithSignatureAndLabels() {
        register("minilm", "1", INPUTS);
        reopen();
        var v = registry.getVersion("minilm", "1");
        assertEquals(INPUTS, v.inputs());
        assertEquals(Map.of("quant", "none"), v.labels());
        assertEquals(Stage.CANDIDATE, v.stage());
        assertEquals("alice", v.createdBy());
        refused(RegistryException.Kind.ALREADY_EXISTS, "already registered", () -> register("minilm", "1", INPUTS));
    }

    @Test
    void pagingVisitsEveryModelAndVersionOnce() {
        for (int i = 0; i < 7; i++) {
            register("m" + i, "1", INPUTS);
            register("m0", "v" + i, INPUTS);
        }
        List<String> names = new ArrayList<>();
        String token = "";
        do {
            var page = registry.listModels(3, token);
            page.items().forEach(m -> names.add(m.name()));
            token = page.nextToken();
        } while (!token.isEmpty());
        assertEquals(List.of("m0", "m1", "m2", "m3", "m4", "m5", "m6"), names);

        List<String> versions = new ArrayList<>();
        token = "";
        do {
            var page = registry.listVersions("m0", 2, token);
            page.items().forEach(v -> versions.add(v.version()));
            token = page.nextToken();
        } while (!token.isEmpty());
        assertEquals(List.of("1", "v0", "v1", "v2", "v3", "v4", "v5", "v6"), versions);
        refused(RegistryException.Kind.INVALID_ARGUMENT, "page_token", () -> registry.listVersions("m0", 2, "not-a-token!"));
    }

    @Test
    void routingRevisionsAreGlobalAndRollbackRestoresThePreviousSplit() {
        register("a", "1", INPUTS);
        register("a", "2", INPUTS);
        register("b", "1", INPUTS);
        assertEquals(1, route("a", "1", "", 0).revision());
        assertEquals(2, route("b", "1", "", 0).revision());
        var canary = route("a", "1", "2", 25);
        assertEquals(3, canary.revision());
        assertEquals(3, route("a", "1", "2", 25).revision(), "an unchanged split is not a new revision");

        var rolledBack = registry.rollback(ALICE, "a", 0, "", OptionalLong.empty());
        assertEquals(4, rolledBack.revision());
        assertEquals(new RoutingSpec("a", "1", "", 0), rolledBack.spec());
        var forward = registry.rollback(ALICE, "a", 3, "back to the canary", OptionalLong.empty());
        assertEquals(new RoutingSpec("a", "1", "2", 25), forward.spec());

        reopen();
        assertEquals(5, registry.feed().revision());
        assertEquals(List.of("a", "b"), registry.feed().snapshot().stream().map(RoutingEntry::model).toList());
        assertEquals(forward, registry.getRouting("a"));
        refused(RegistryException.Kind.NOT_FOUND, "revision 2 did not change model 'a'", () -> registry.rollback(ALICE, "a", 2, "", OptionalLong.empty()));
        refused(RegistryException.Kind.FAILED_PRECONDITION, "no routing before", () -> registry.rollback(ALICE, "b", 0, "", OptionalLong.empty()));
    }

    @Test
    void everyWriteIsAuditedWithBeforeAndAfter() {
        register("a", "1", INPUTS);
        register("a", "2", INPUTS);
        route("a", "1", "", 0);
        route("a", "1", "2", 10);
        registry.setStage(ALICE, "a", "2", Stage.STABLE, "promoted");
        var records = registry.listAudit("a", 10, "").items();
        assertEquals(List.of("SetStage", "SetRouting", "SetRouting", "RegisterVersion", "RegisterVersion", "CreateModel"),
                records.stream().map(r -> r.action()).toList());
        var setCanary = records.get(1);
        assertEquals("alice", setCanary.actor());
        assertTrue(setCanary.beforeJson().contains("\"canaryWeight\":0"), setCanary.beforeJson());
        assertTrue(setCanary.afterJson().contains("\"canaryWeight\":10"), setCanary.afterJson());
        assertTrue(records.get(0).afterJson().contains("\"stage\":\"STABLE\""));
        assertEquals("promoted", records.get(0).reason());
        var older = registry.listAudit("a", 4, "");
        assertEquals(2, registry.listAudit("a", 4, older.nextToken()).items().size());
    }

    @Test
    void routingValidationRefusesEachBadInput() {
        register("a", "1", INPUTS);
        register("a", "2", INPUTS);
        register("a", "int32", List.of(new TensorSpec("input_ids", "INT32", List.of(-1L, -1L))));
        register("a", "old", INPUTS);
        registry.setStage(ALICE, "a", "old", Stage.ARCHIVED, "");
        refused(RegistryException.Kind.NOT_FOUND, "model 'nope' does not exist", () -> route("nope", "1", "", 0));
        refused(RegistryException.Kind.NOT_FOUND, "stable version '9' of model 'a' is not registered", () -> route("a", "9", "", 0));
        refused(RegistryException.Kind.NOT_FOUND, "canary version '9'", () -> route("a", "1", "9", 5));
        refused(RegistryException.Kind.FAILED_PRECONDITION, "archived", () -> route("a", "old", "", 0));
        refused(RegistryException.Kind.FAILED_PRECONDITION, "archived", () -> route("a", "1", "old", 5));
        refused(RegistryException.Kind.INVALID_ARGUMENT, "out of range", () -> route("a", "1", "2", 101));
        refused(RegistryException.Kind.INVALID_ARGUMENT, "out of range", () -> route("a", "1", "2", -1));
        refused(RegistryException.Kind.INVALID_ARGUMENT, "no canary_version", () -> route("a", "1", "", 10));
        refused(RegistryException.Kind.INVALID_ARGUMENT, "canary_version equals stable_version", () -> route("a", "1", "1", 10));
        refused(RegistryException.Kind.INVALID_ARGUMENT, "stable_version is required", () -> route("a", "", "2", 10));
        refused(RegistryException.Kind.FAILED_PRECONDITION, "INT64 in stable but INT32 in canary", () -> route("a", "1", "int32", 10));
        var forced = registry.setRouting(ALICE, new RoutingSpec("a", "1", "int32", 10), true, "known risk", OptionalLong.empty());
        assertEquals("int32", forced.canary());
        refused(RegistryException.Kind.FAILED_PRECONDITION, "route traffic away", () -> registry.setStage(ALICE, "a", "int32", Stage.ARCHIVED, ""));
    }

    @Test
    void catalogValidationRefusesEachBadInput() {
        refused(RegistryException.Kind.INVALID_ARGUMENT, "model name is required", () -> registry.createModel(ALICE, "", "", Map.of()));
        refused(RegistryException.Kind.INVALID_ARGUMENT, "is invalid", () -> registry.createModel(ALICE, "../etc", "", Map.of()));
        refused(RegistryException.Kind.INVALID_ARGUMENT, "label key", () -> registry.createModel(ALICE, "x", "", Map.of(" bad", "v")));
        registry.createModel(ALICE, "m", "", Map.of());
        refused(RegistryException.Kind.ALREADY_EXISTS, "already exists", () -> registry.createModel(ALICE, "m", "", Map.of()));
        record Bad(String why, ModelVersion draft) { }
        var ok = new ModelVersion("m", "1", "file:///x", SHA, INPUTS, List.of(), "onnx", Map.of(), "", Stage.CANDIDATE, 0, "");
        for (var bad : List.of(
                new Bad("version is required", new ModelVersion("m", "", "file:///x", SHA, INPUTS, List.of(), "", Map.of(), "", null, 0, "")),
                new Bad("version 'a/b' is invalid", new ModelVersion("m", "a/b", "file:///x", SHA, INPUTS, List.of(), "", Map.of(), "", null, 0, "")),
                new Bad("artifact_uri is required", new ModelVersion("m", "1", "", SHA, INPUTS, List.of(), "", Map.of(), "", null, 0, "")),
                new Bad("64 lowercase hex", new ModelVersion("m", "1", "file:///x", "ABC", INPUTS, List.of(), "", Map.of(), "", null, 0, "")),
                new Bad("input signature is empty", new ModelVersion("m", "1", "file:///x", SHA, List.of(), List.of(), "", Map.of(), "", null, 0, "")),
                new Bad("datatype 'FLOAT'", new ModelVersion("m", "1", "file:///x", SHA,
                        List.of(new TensorSpec("x", "FLOAT", List.of(1L))), List.of(), "", Map.of(), "", null, 0, "")),
                new Bad("dim 0", new ModelVersion("m", "1", "file:///x", SHA,
                        List.of(new TensorSpec("x", "FP32", List.of(0L))), List.of(), "", Map.of(), "", null, 0, "")),
                new Bad("has no shape", new ModelVersion("m", "1", "file:///x", SHA,
                        List.of(new TensorSpec("x", "FP32", List.of())), List.of(), "", Map.of(), "", null, 0, "")),
                new Bad("listed twice", new ModelVersion("m", "1", "file:///x", SHA,
                        List.of(new TensorSpec("x", "FP32", List.of(1L)), new TensorSpec("x", "FP32", List.of(1L))), List.of(), "", Map.of(), "", null, 0, "")))) {
            refused(RegistryException.Kind.INVALID_ARGUMENT, bad.why(), () -> registry.registerVersion(ALICE, bad.draft()));
        }
        refused(RegistryException.Kind.NOT_FOUND, "does not exist", () -> registry.registerVersion(ALICE,
                new ModelVersion("ghost", "1", "file:///x", SHA, INPUTS, List.of(), "", Map.of(), "", null, 0, "")));
        registry.registerVersion(ALICE, ok);
        refused(RegistryException.Kind.NOT_FOUND, "not registered", () -> registry.getVersion("m", "2"));
        refused(RegistryException.Kind.INVALID_ARGUMENT, "stage is required", () -> registry.setStage(ALICE, "m", "1", null, ""));
        refused(RegistryException.Kind.INVALID_ARGUMENT, "negative", () -> registry.listModels(-1, ""));
    }

    @Test
    void staleExpectedRevisionIsAborted() {
        register("a", "1", INPUTS);
        register("a", "2", INPUTS);
        var first = registry.setRouting(ALICE, new RoutingSpec("a", "1", "", 0), false, "", OptionalLong.of(0));
        registry.setRouting(ALICE, new RoutingSpec("a", "1", "2", 5), false, "", OptionalLong.of(first.revision()));
        refused(RegistryException.Kind.ABORTED, "is at revision 2, not 1", () -> registry.setRouting(ALICE,
                new RoutingSpec("a", "1", "2", 50), false, "", OptionalLong.of(first.revision())));
    }

    @Test
    void concurrentWritersGetDistinctContiguousRevisions() throws Exception {
        for (int m = 0; m < 4; m++) {
            register("c" + m, "1", INPUTS);
            register("c" + m, "2", INPUTS);
        }
        long start = registry.feed().revision();
        List<RoutingEvent> seen = new CopyOnWriteArrayList<>();
        registry.feed().subscribe(start, seen::add);
        var pool = Executors.newFixedThreadPool(4);
        List<Future<?>> futures = new ArrayList<>();
        for (int m = 0; m < 4; m++) {
            String model = "c" + m;
            futures.add(pool.submit(() -> {
                for (int w = 1; w <= 10; w++) {
                    route(model, "1", "2", w);
                }
            }));
        }
        for (var f : futures) {
            f.get(60, TimeUnit.SECONDS);
        }
        pool.shutdown();
        var revisions = seen.stream().filter(e -> e.type() == RoutingEvent.Type.CHANGE).map(RoutingEvent::revision).toList();
        assertEquals(40, revisions.size());
        for (int i = 0; i < revisions.size(); i++) {
            assertEquals(start + i + 1, revisions.get(i));
        }
    }

    @Test
    void declaredRoutingIsReappliedOnlyWhenItsContentChanges() {
        register("a", "1", INPUTS);
        register("a", "2", INPUTS);
        var applier = new DeclarationApplier(registry, "file:test");
        applier.declare(List.of(new RoutingSpec("a", "1", "2", 10)));
        var declared = registry.getRouting("a");
        assertEquals(RoutingSource.DECLARED, declared.source());
        assertEquals("declared:file:test", declared.changedBy());

        // The router aborts the canary at runtime: an unchanged declaration must not undo it.
        var aborted = route("a", "1", "", 0);
        applier.declare(List.of(new RoutingSpec("a", "1", "2", 10)));
        applier.reconcile();
        assertEquals(aborted, registry.getRouting("a"));

        // Not even after a restart: the applied content is remembered in the store.
        var restarted = new DeclarationApplier(reopen(), "file:test");
        restarted.declare(List.of(new RoutingSpec("a", "1", "2", 10)));
        assertEquals(aborted.revision(), registry.getRouting("a").revision());

        // Editing the declaration applies it again.
        restarted.declare(List.of(new RoutingSpec("a", "1", "2", 20)));
        assertEquals(new RoutingSpec("a", "1", "2", 20), registry.getRouting("a").spec());
        assertEquals(RoutingSource.DECLARED, registry.getRouting("a").source());
    }

    @Test
    void declaredEntriesWaitForTheirVersions() {
        var applier = new DeclarationApplier(registry, "file:test");
        applier.declare(List.of(new RoutingSpec("later", "1", "", 0)));
        assertEquals(1, applier.reconcile());
        register("later", "1", INPUTS);
        assertEquals(0, applier.reconcile());
        assertEquals("1", registry.getRouting("later").stable());
    }
}
