package io.maas.registry.domain;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The rollout's verdicts as a pure function of state, evidence and time. */
class RolloutEngineTest {

    static final RolloutGates GATES = new RolloutGates(10, 0.05, 500.0, null, 0.999, 0.1, 5);
    static final RolloutPlan PLAN = new RolloutPlan(List.of(new RolloutStep(10, 30, false), new RolloutStep(50, 60, false)), GATES);

    static Rollout at(int step, long stepStartedAt) {
        return new Rollout("m", "1", "2", PLAN, RolloutState.RUNNING, step, 0, stepStartedAt, 7, TrafficWindow.EMPTY,
                TrafficWindow.EMPTY, ShadowWindow.EMPTY, "", "declared:test", "h", false, 0);
    }

    /** {@code calls} calls of {@code faults} server faults, each taking about {@code ms}. */
    static TrafficWindow calls(long calls, long faults, double ms) {
        int bin = (int) Math.ceil(Math.log(ms * 1000) / Math.log(1.12));
        return new TrafficWindow(calls, faults, Map.of(bin, calls));
    }

    static ShadowWindow agreeing(long n) {
        return new ShadowWindow(n, n * 0.99999, 0.9999, 0.01);
    }

    @Test
    void holdsForTheMinimumHoldThenAdvancesThenPromotes() {
        var r = at(0, 1_000).withEvidence(calls(100, 0, 5), calls(20, 0, 5), agreeing(10));
        var v = RolloutEngine.judge(r, 1_000 + 29_999);
        assertEquals(RolloutEngine.Kind.HOLD, v.kind());
        assertTrue(v.message().contains("held 29 of 30 s"), v.message());
        assertEquals(RolloutEngine.Kind.ADVANCE, RolloutEngine.judge(r, 31_000).kind());
        var last = at(1, 0).withEvidence(calls(100, 0, 5), calls(20, 0, 5), agreeing(10));
        assertEquals(RolloutEngine.Kind.PROMOTE, RolloutEngine.judge(last, 60_000).kind());
    }

    @Test
    void withoutTrafficItHoldsAndSaysSo() {
        var r = at(0, 0).withEvidence(TrafficWindow.EMPTY, calls(3, 0, 5), agreeing(10));
        var v = RolloutEngine.judge(r, 3_600_000);
        assertEquals(RolloutEngine.Kind.HOLD, v.kind());
        assertTrue(v.message().contains("not enough traffic to judge: 3 of 10 canary calls"), v.message());
    }

    @Test
    void waitsForShadowComparisonsWhenTheShadowGateIsDeclared() {
        var r = at(0, 0).withEvidence(calls(100, 0, 5), calls(20, 0, 5), agreeing(2));
        var v = RolloutEngine.judge(r, 3_600_000);
        assertEquals(RolloutEngine.Kind.HOLD, v.kind());
        assertTrue(v.message().contains("waiting for shadow comparisons: 2 of 5"), v.message());
    }

    @Test
    void abortsOnTheErrorRateGateAsSoonAsEnoughCallsAreIn() {
        var few = at(0, 0).withEvidence(calls(100, 0, 5), calls(9, 9, 5), ShadowWindow.EMPTY);
        assertEquals(RolloutEngine.Kind.HOLD, RolloutEngine.judge(few, 1).kind(), "below minCalls: no verdict");
        var r = at(0, 0).withEvidence(calls(100, 1, 5), calls(10, 1, 5), ShadowWindow.EMPTY);
        var v = RolloutEngine.judge(r, 1);
        assertEquals(RolloutEngine.Kind.ABORT, v.kind());
        assertEquals("error_rate", v.gate());
        assertTrue(v.message().contains("10.00%"), v.message());
    }

    @Test
    void abortsOnP99AgainstTheLimitAndAgainstStable() {
        var slow = at(0, 0).withEvidence(calls(100, 0, 5), calls(20, 0, 800), ShadowWindow.EMPTY);
        assertEquals("p99", RolloutEngine.judge(slow, 1).gate());
        var ratioPlan = new RolloutPlan(PLAN.steps(), new RolloutGates(10, null, null, 2.0, null, null, 0));
        var r = new Rollout("m", "1", "2", ratioPlan, RolloutState.RUNNING, 0, 0, 0, 7, calls(100, 0, 5), calls(20, 0, 20),
                ShadowWindow.EMPTY, "", "", "h", false, 0);
        assertEquals("p99_vs_stable", RolloutEngine.judge(r, 1).gate());
    }

    @Test
    void shadowDriftAbortsWhileErrorsAndLatencyAreFine() {
        var drifting = new ShadowWindow(10, 10 * 0.995, 0.99, 0.05);
        var r = at(0, 0).withEvidence(calls(100, 0, 5), calls(20, 0, 5), drifting);
        var v = RolloutEngine.judge(r, 1);
        assertEquals(RolloutEngine.Kind.ABORT, v.kind());
        assertEquals("shadow_cosine", v.gate());
        var diverging = new ShadowWindow(10, 10 * 0.99999, 0.9999, 0.5);
        assertEquals("shadow_max_abs_diff", RolloutEngine.judge(at(0, 0).withEvidence(calls(100, 0, 5), calls(20, 0, 5), diverging), 1).gate());
    }

    @Test
    void pausedHoldsButStillAbortsOnABrokenGate() {
        var paused = at(0, 0).withState(RolloutState.PAUSED, "paused by alice", 0).withEvidence(calls(100, 0, 5), calls(20, 0, 5),
                agreeing(10));
        assertEquals(RolloutEngine.Kind.HOLD, RolloutEngine.judge(paused, 3_600_000).kind());
        var failing = paused.withEvidence(TrafficWindow.EMPTY, calls(20, 20, 5), ShadowWindow.EMPTY);
        assertEquals(RolloutEngine.Kind.ABORT, RolloutEngine.judge(failing, 1).kind());
    }

    @Test
    void p99IsReadFromTheSharedBinScheme() {
        var w = calls(99, 0, 5).plus(calls(1, 0, 900));
        assertTrue(w.p99Ms() >= 5 && w.p99Ms() < 5 * 1.13, "p99 " + w.p99Ms());
        assertTrue(calls(98, 0, 5).plus(calls(2, 0, 900)).p99Ms() >= 900);
    }
}
