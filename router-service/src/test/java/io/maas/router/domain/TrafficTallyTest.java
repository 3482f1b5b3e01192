package io.maas.router.domain;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrafficTallyTest {

    @Test
    void drainTakesEachCallOnceAndRestorePutsAReportBack() {
        var tally = new TrafficTally();
        var key = new ModelKey("m", "2");
        tally.record(key, false, 2_000_000);
        tally.record(key, true, 2_000_000);
        tally.shadow("m", "1", "2", 0.01, 0.999);
        tally.shadow("m", "1", "2", 0.03, 0.997);
        var report = tally.drain();
        assertEquals(1, report.versions().size());
        var v = report.versions().get(0);
        assertEquals(2, v.calls());
        assertEquals(1, v.serverFaults());
        assertEquals(Map.of(VersionStats.bin(2_000), 2L), v.latencyBins());
        var s = report.shadows().get(0);
        assertEquals(2, s.compared());
        assertEquals(0.997, s.cosineMin(), 1e-12);
        assertEquals(0.03, s.maxAbsDiff(), 1e-12);
        assertTrue(tally.drain().isEmpty(), "each call is in exactly one report");
        tally.restore(report);
        tally.record(key, false, 2_000_000);
        var next = tally.drain();
        assertEquals(3, next.versions().get(0).calls());
        assertEquals(1, next.versions().get(0).serverFaults());
        assertEquals(2, next.shadows().get(0).compared());
    }
}
