package io.maas.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class RequestBudgetTest {
    private static final long FREE = RequestBudget.FREE_BYTES;

    @Test
    void smallRequestsAreNeverCountedNorRefused() {
        RequestBudget budget = new RequestBudget(1);
        RequestBudget.Request big = budget.request();
        assertTrue(big.arrived(FREE + 1));
        for (int i = 0; i < 1000; i++) {
            RequestBudget.Request small = budget.request();
            assertTrue(small.arrived(FREE));
            small.ended();
        }
        assertEquals(1, budget.held());
    }

    @Test
    void aRequestThatWouldPassTheLimitIsRefusedUnlessItIsTheOldestBeingRead() {
        RequestBudget budget = new RequestBudget(100);
        RequestBudget.Request first = budget.request();
        RequestBudget.Request second = budget.request();
        assertTrue(first.arrived(FREE + 60));
        assertTrue(second.arrived(FREE + 30));
        // the second would pass 100 and the first is older: the second is refused, and stays so
        assertFalse(second.arrived(20));
        assertFalse(second.arrived(1));
        // the first, oldest of those being read, goes on over the limit
        assertTrue(first.arrived(50));
        assertEquals(140, budget.held());
        first.read();
        second.ended();
        assertEquals(110, budget.held());
        // a new request finds the others holding the limit or more: refused even alone
        RequestBudget.Request third = budget.request();
        assertFalse(third.arrived(FREE + 1));
        first.ended();
        third.ended();
        assertEquals(0, budget.held());
    }

    @Test
    void aRequestReadAloneMayGoOverOnlyWhileTheOthersHoldLessThanTheLimit() {
        RequestBudget budget = new RequestBudget(100);
        RequestBudget.Request queued = budget.request();
        assertTrue(queued.arrived(FREE + 90));
        queued.read();
        RequestBudget.Request next = budget.request();
        assertTrue(next.arrived(FREE + 50), "read alone while the others hold 90 < 100");
        next.read();
        RequestBudget.Request last = budget.request();
        assertFalse(last.arrived(FREE + 1), "the others hold 140");
        last.ended();
        queued.ended();
        next.ended();
        assertEquals(0, budget.held());
    }

    @Test
    void aWholeBodyIsTakenAtOnceAndARefusedOneHoldsNothing() {
        RequestBudget budget = new RequestBudget(100);
        RequestBudget.Request first = budget.request();
        assertTrue(first.arrivedWhole(FREE + 100, FREE + 300), "alone: it may go over the limit");
        RequestBudget.Request second = budget.request();
        assertFalse(second.arrivedWhole(FREE + 10, FREE + 10), "the first holds 300");
        assertEquals(300, budget.held());
        RequestBudget.Request small = budget.request();
        assertTrue(small.arrivedWhole(FREE, 8 * FREE), "a small body is never counted");
        small.ended();
        first.ended();
        RequestBudget.Request third = budget.request();
        assertTrue(third.arrivedWhole(FREE + 40, FREE + 40));
        assertEquals(40, budget.held());
        third.ended();
        assertEquals(0, budget.held());
    }

    @Test
    void aWeightedRequestCountsItsBytesBeyondTheFreeOnesThatManyTimesAsTheyArrive() {
        RequestBudget budget = new RequestBudget(100);
        assertTrue(budget.fits(100));
        assertFalse(budget.fits(101));
        RequestBudget.Request forwarded = budget.request(3);
        assertTrue(forwarded.arrived(FREE + 10), "the free bytes are not weighed");
        assertEquals(30, budget.held());
        assertTrue(budget.fits(70));
        assertFalse(budget.fits(71), "a declared size checked before its body: nothing is taken for it");
        RequestBudget.Request other = budget.request(3);
        assertTrue(other.arrived(FREE + 23));
        assertFalse(other.arrived(1), "99 held: 3 more would pass, and the first is still being read");
        assertEquals(99, budget.held());
        forwarded.ended();
        other.ended();
        assertEquals(0, budget.held());
    }
}
