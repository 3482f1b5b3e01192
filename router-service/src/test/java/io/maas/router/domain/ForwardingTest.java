package io.maas.router.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.Test;

/** The forwarding pipeline with a scripted transport: version choice, refusals, retries, ejection, evidence. */
class ForwardingTest {

    /** Answers each attempt with the next scripted outcome, synchronously; records where attempts went. */
    static final class Scripted implements Upstream {
        final Deque<Outcome> answers = new ArrayDeque<>();
        final List<String> sentTo = new ArrayList<>();
        final List<Outcome> finished = new ArrayList<>();

        Scripted(Outcome... answers) {
            this.answers.addAll(List.of(answers));
        }

        @Override
        public void send(ForwardedCall call, Endpoint endpoint, int attempt) {
            sentTo.add(endpoint.address());
            call.attemptDone(endpoint, answers.isEmpty() ? Outcome.OK : answers.poll());
        }

        @Override
        public void finish(Outcome outcome) {
            finished.add(outcome);
        }
    }

    static Outcome refused() {
        return new Outcome(StatusCode.UNAVAILABLE, "connection refused", true);
    }

    Outcome call(Fixtures f, String version, Scripted upstream) throws Forwarding.Refused {
        Target t = f.forwarding.target("m", version, null, null, null);
        f.forwarding.start(CallKind.primary("ModelInfer", true), t, upstream, 0, true);
        assertEquals(1, upstream.finished.size(), "finished exactly once");
        return upstream.finished.get(0);
    }

    @Test
    void unknownModelsAndVersionsAreNotFoundNamingWhatExists() {
        Fixtures f = new Fixtures(Fixtures.POLICY, Fixtures.catalog(Map.of("m", Set.of("1", "2", "3"), "other", Set.of("1"))));
        f.table.replaceAll(1, List.of(new Route("m", "1", "2", 10, 1)));
        f.endpoints("m:1", "10.0.0.1:1", "m:2", "10.0.0.2:1");

        var model = assertThrows(Forwarding.Refused.class, () -> f.forwarding.target("nope", "", null, null, null));
        assertEquals(StatusCode.NOT_FOUND, model.outcome().code());
        assertTrue(model.getMessage().contains("unknown model 'nope'; models: m, other"), model.getMessage());

        var version = assertThrows(Forwarding.Refused.class, () -> f.forwarding.target("m", "999", null, null, null));
        assertEquals(StatusCode.NOT_FOUND, version.outcome().code());
        assertEquals("model 'm' has no version '999'; versions: 1, 2, 3", version.getMessage());

        var pin = assertThrows(Forwarding.Refused.class, () -> f.forwarding.target("m", "", "abc", null, null));
        assertEquals(StatusCode.NOT_FOUND, pin.outcome().code());
        assertTrue(pin.getMessage().contains("x-model-version"), pin.getMessage());

        var empty = assertThrows(Forwarding.Refused.class, () -> f.forwarding.target("", "", null, null, null));
        assertEquals(StatusCode.INVALID_ARGUMENT, empty.outcome().code());
    }

    @Test
    void aRegisteredVersionWithoutPodsIsTheServersProblem() throws Forwarding.Refused {
        Fixtures f = new Fixtures(Fixtures.POLICY, Fixtures.catalog(Map.of("m", Set.of("1", "3"))));
        f.table.replaceAll(1, List.of(new Route("m", "1", null, 0, 1)));
        f.endpoints("m:1", "10.0.0.1:1");
        Scripted up = new Scripted();
        Outcome o = call(f, "3", up);
        assertEquals(StatusCode.UNAVAILABLE, o.code());
        assertTrue(o.message().contains("no pod serving it"), o.message());
        assertEquals(List.of(), up.sentTo);
        assertEquals(0, f.state.inFlight());
    }

    @Test
    void withoutRoutingTheOnlyServedVersionIsChosen() throws Forwarding.Refused {
        Fixtures f = new Fixtures();
        f.endpoints("m:7", "10.0.0.1:1");
        Target t = f.forwarding.target("m", "", null, null, null);
        assertEquals(new ModelKey("m", "7"), t.key());
        f.endpoints("m:7", "10.0.0.1:1", "m:8", "10.0.0.2:1");
        var several = assertThrows(Forwarding.Refused.class, () -> f.forwarding.target("m", "", null, null, null));
        assertEquals(StatusCode.FAILED_PRECONDITION, several.outcome().code());
        assertTrue(several.getMessage().contains("name a version"), several.getMessage());
    }

    @Test
    void callerMistakesNeverEjectAPodNorFeedTheCanary() throws Forwarding.Refused {
        Fixtures f = new Fixtures();
        f.table.replaceAll(1, List.of(new Route("m", "1", "2", 50, 1)));
        f.endpoints("m:1", "10.0.0.1:1", "m:2", "10.0.0.2:1");
        for (int i = 0; i < 100; i++) {
            Scripted up = new Scripted(Outcome.of(StatusCode.INVALID_ARGUMENT, "indices element out of data bounds"));
            assertEquals(StatusCode.INVALID_ARGUMENT, call(f, "2", up).code());
            assertEquals(1, up.sentTo.size(), "a caller's mistake is not retried");
        }
        assertEquals(List.of(), f.events.ejections);
        assertEquals(0, f.canary.snapshot(new ModelKey("m", "2")).total(), "no evidence about the canary");
        f.canary.check();
        assertEquals(List.of(), f.abortsWritten);
        assertEquals(100, f.events.calls.size(), "still counted as calls, by their code");
        assertTrue(f.events.calls.get(0).endsWith("INVALID_ARGUMENT"));
    }

    @Test
    void serverFaultsEjectButNeverTheWholeVersion() throws Forwarding.Refused {
        Fixtures f = new Fixtures();
        f.endpoints("m:1", "10.0.0.1:1", "10.0.0.2:1");
        for (int i = 0; i < 20; i++) {
            call(f, "1", new Scripted(Outcome.of(StatusCode.INTERNAL, "boom")));
        }
        // three in a row eject one pod; 50% of two pods: the second is never ejected
        assertEquals(1, f.events.ejections.size(), f.events.ejections::toString);
        Scripted up = new Scripted();
        for (int i = 0; i < 10; i++) {
            up.finished.clear();
            call(f, "1", up);
        }
        assertTrue(up.sentTo.stream().allMatch(a -> !a.equals(f.events.ejections.get(0))), up.sentTo::toString);
    }

    @Test
    void aCallNoPodRanIsRetriedElsewhereOnce() throws Forwarding.Refused {
        Fixtures f = new Fixtures();
        f.endpoints("m:1", "10.0.0.1:1", "10.0.0.2:1");
        Scripted up = new Scripted(refused());
        assertEquals(StatusCode.OK, call(f, "1", up).code());
        assertEquals(2, up.sentTo.size());
        assertNotEquals(up.sentTo.get(0), up.sentTo.get(1));
        assertEquals(1, f.events.retries.size());

        // both pods refuse: the last pod's answer is the caller's, not "no other endpoint"
        Scripted both = new Scripted(refused(), refused());
        Outcome o = call(f, "1", both);
        assertEquals(StatusCode.UNAVAILABLE, o.code());
        assertEquals("connection refused", o.message());
    }

    @Test
    void aPodLackingTheVersionItIsListedForIsNotTheCallersFault() throws Forwarding.Refused {
        Fixtures f = new Fixtures();
        f.table.replaceAll(1, List.of(new Route("m", "1", "3", 50, 1)));
        f.endpoints("m:1", "10.0.0.1:1", "m:3", "10.0.0.9:1");
        Outcome o = call(f, "3", new Scripted(Outcome.of(StatusCode.NOT_FOUND, "unknown version 3")));
        assertEquals(StatusCode.UNAVAILABLE, o.code());
        assertTrue(o.message().contains("does not serve m:3 although discovery lists it"), o.message());
        assertEquals(1, f.canary.snapshot(new ModelKey("m", "3")).errors(), "evidence against the canary");
        assertEquals(List.of(), f.events.ejections);
    }

    @Test
    void aCanaryFailingOnServerFaultsIsAborted() throws Forwarding.Refused {
        Fixtures f = new Fixtures();
        f.table.replaceAll(1, List.of(new Route("m", "1", "2", 50, 1)));
        f.endpoints("m:1", "10.0.0.1:1", "10.0.0.3:1", "m:2", "10.0.0.2:1", "10.0.0.4:1");
        for (int i = 0; i < 30; i++) {
            call(f, "1", new Scripted());
            call(f, "2", new Scripted(Outcome.of(StatusCode.INTERNAL, "canary broken")));
        }
        f.canary.check();
        assertEquals(List.of("m:2"), f.abortsWritten);
        assertEquals(0, f.table.route("m").canaryWeight(), "held at 0 by this router at once");
    }

    @Test
    void aCanaryTheSplitChoseIsAnsweredByStableWhenItFailsYetJudgedOnItsFailure() throws Forwarding.Refused {
        Fixtures f = new Fixtures();
        f.table.replaceAll(1, List.of(new Route("m", "1", "2", 100, 1)));   // the split always picks the canary
        f.endpoints("m:1", "10.0.0.1:1", "m:2", "10.0.0.2:1");
        for (int i = 0; i < 30; i++) {
            Scripted up = new Scripted(Outcome.of(StatusCode.INTERNAL, "canary broken"));
            assertEquals(StatusCode.OK, call(f, "", up).code(), "stable answers");
            assertEquals(List.of("10.0.0.2:1", "10.0.0.1:1"), up.sentTo);
        }
        assertEquals(30, f.events.fallbacks.size());
        assertTrue(f.events.calls.stream().allMatch(c -> c.equals("m:1/stable/OK")), f.events.calls::toString);
        assertEquals(30, f.canary.snapshot(new ModelKey("m", "2")).errors(), "the canary's failures are its evidence");
        f.canary.check();
        assertEquals(List.of("m:2"), f.abortsWritten);

        // a caller's mistake would fail on stable alike: it is the caller's answer, sent once
        f.table.replaceAll(2, List.of(new Route("m", "1", "2", 100, 2)));
        Scripted mistake = new Scripted(Outcome.of(StatusCode.INVALID_ARGUMENT, "shape [3] != [16]"));
        assertEquals(StatusCode.INVALID_ARGUMENT, call(f, "", mistake).code());
        assertEquals(1, mistake.sentTo.size());

        // a caller that names the canary (version or x-maas-canary: always) gets the canary's answer
        Scripted named = new Scripted(Outcome.of(StatusCode.INTERNAL, "canary broken"));
        assertEquals(StatusCode.INTERNAL, call(f, "2", named).code());
        Scripted always = new Scripted(Outcome.of(StatusCode.INTERNAL, "canary broken"));
        f.forwarding.start(CallKind.primary("ModelInfer", true), f.forwarding.target("m", "", null, "always", null),
                always, 0, true);
        assertEquals(StatusCode.INTERNAL, always.finished.get(0).code());
        assertEquals(30, f.events.fallbacks.size());

        // a canary pod lacking the version, or no canary pod at all: stable answers too
        Fixtures g = new Fixtures();
        g.table.replaceAll(1, List.of(new Route("m", "1", "3", 100, 1)));
        g.endpoints("m:1", "10.0.0.1:1", "m:3", "10.0.0.9:1");
        Scripted lacking = new Scripted(Outcome.of(StatusCode.NOT_FOUND, "unknown version 3"));
        assertEquals(StatusCode.OK, call(g, "", lacking).code());
        assertEquals(List.of("10.0.0.9:1", "10.0.0.1:1"), lacking.sentTo);
        g.endpoints("m:1", "10.0.0.1:1");
        Scripted none = new Scripted();
        assertEquals(StatusCode.OK, call(g, "", none).code());
        assertEquals(List.of("10.0.0.1:1"), none.sentTo);
        assertEquals(2, g.canary.snapshot(new ModelKey("m", "3")).errors());
    }

    @Test
    void withoutFallbackTheCanarysFailureIsTheCallersAnswer() throws Forwarding.Refused {
        Fixtures f = new Fixtures(Fixtures.POLICY, ModelCatalog.NONE, io.maas.auth.FrontDoor.open(), false);
        f.table.replaceAll(1, List.of(new Route("m", "1", "2", 100, 1)));
        f.endpoints("m:1", "10.0.0.1:1", "m:2", "10.0.0.2:1");
        Scripted up = new Scripted(Outcome.of(StatusCode.INTERNAL, "canary broken"));
        assertEquals(StatusCode.INTERNAL, call(f, "", up).code());
        assertEquals(List.of("10.0.0.2:1"), up.sentTo);
        assertEquals(List.of(), f.events.fallbacks);
    }

    @Test
    void shadowCallsAreOneAttemptAndNoCall() {
        Fixtures f = new Fixtures();
        f.endpoints("m:2", "10.0.0.1:1", "10.0.0.2:1");
        Scripted up = new Scripted(refused());
        f.forwarding.start(CallKind.SHADOW, new Target(new ModelKey("m", "2"), "shadow", null), up, 0, false);
        assertEquals(1, up.sentTo.size());
        assertEquals(List.of(), f.events.calls);
        assertEquals(0, f.state.inFlight());
    }

    @Test
    void anExpiredDeadlineEndsTheCallInTheRouter() throws Forwarding.Refused {
        Fixtures f = new Fixtures();
        f.endpoints("m:1", "10.0.0.1:1");
        Scripted up = new Scripted();
        f.forwarding.start(CallKind.primary("ModelInfer", true), f.forwarding.target("m", "1", null, null, null), up,
                System.nanoTime() - 1, true);
        assertEquals(StatusCode.DEADLINE_EXCEEDED, up.finished.get(0).code());
        assertEquals(List.of(), up.sentTo);
    }
}
