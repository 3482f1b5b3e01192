package io.maas.router.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;

import org.junit.jupiter.api.Test;

/** The one classification of failures: whose fault, what ejects, what is retried. */
class FaultTest {

    @Test
    void everyCodeHasAnOwner() {
        for (StatusCode code : StatusCode.values()) {
            Fault f = Fault.of(code, true);
            assertEquals(code == StatusCode.OK, f == Fault.NONE, code::name);
        }
    }

    @Test
    void callersMistakesAreTheCallers() {
        for (StatusCode code : EnumSet.of(StatusCode.INVALID_ARGUMENT, StatusCode.NOT_FOUND, StatusCode.OUT_OF_RANGE,
                StatusCode.FAILED_PRECONDITION, StatusCode.CANCELLED, StatusCode.UNAUTHENTICATED,
                StatusCode.PERMISSION_DENIED, StatusCode.UNIMPLEMENTED)) {
            assertEquals(Fault.CALLER, Fault.of(code, false), code::name);
            assertFalse(Fault.ejects(code), code::name);
        }
        // the caller's own deadline is the caller's; the router's default deadline running out is the server's
        assertEquals(Fault.CALLER, Fault.of(StatusCode.DEADLINE_EXCEEDED, true));
        assertEquals(Fault.SERVER, Fault.of(StatusCode.DEADLINE_EXCEEDED, false));
    }

    @Test
    void serverFaultsEjectOnlyWhenThePodIsBroken() {
        for (StatusCode code : EnumSet.of(StatusCode.INTERNAL, StatusCode.UNAVAILABLE, StatusCode.UNKNOWN,
                StatusCode.DATA_LOSS)) {
            assertEquals(Fault.SERVER, Fault.of(code, true), code::name);
            assertTrue(Fault.ejects(code), code::name);
        }
        // a full queue is the server's capacity, but a busy pod is not a broken one
        assertEquals(Fault.SERVER, Fault.of(StatusCode.RESOURCE_EXHAUSTED, true));
        assertFalse(Fault.ejects(StatusCode.RESOURCE_EXHAUSTED));
        assertFalse(Fault.ejects(StatusCode.DEADLINE_EXCEEDED));
    }

    @Test
    void onlyCallsAPodDidNotRunAreRetried() {
        assertTrue(Fault.retries(new Outcome(StatusCode.UNAVAILABLE, "connection refused", true)));
        assertFalse(Fault.retries(new Outcome(StatusCode.UNAVAILABLE, "reset mid-response", false)));
        assertFalse(Fault.retries(new Outcome(StatusCode.INTERNAL, "", true)));
        assertFalse(Fault.retries(Outcome.of(StatusCode.INVALID_ARGUMENT, "bad ids")));
    }

    @Test
    void statusNumbersAreGrpcs() {
        assertEquals(StatusCode.UNAVAILABLE, StatusCode.of(14));
        assertEquals(StatusCode.UNAUTHENTICATED, StatusCode.of(16));
        assertEquals(StatusCode.UNKNOWN, StatusCode.of(99));
    }
}
