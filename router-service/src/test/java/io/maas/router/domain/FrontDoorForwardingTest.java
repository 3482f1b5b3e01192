package io.maas.router.domain;

import io.maas.auth.ApiKeys;
import io.maas.auth.Caller;
import io.maas.auth.CredentialKind;
import io.maas.auth.FrontDoor;
import io.maas.auth.Operation;
import io.maas.auth.Presented;
import io.maas.auth.Quotas;
import io.maas.auth.AuthSettings;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pipeline with the front door on: who may call what, on which track, and quotas released with the call. */
class FrontDoorForwardingTest {
    @TempDir
    Path dir;
    Fixtures f;
    final Caller search = new Caller("search", CredentialKind.API_KEY);
    final Caller reports = new Caller("reports", CredentialKind.API_KEY);

    @BeforeEach
    void setUp() throws IOException {
        Path keys = Files.writeString(dir.resolve("keys"), "search:sha256:" + ApiKeys.hash("ks") + "\n");
        Path policy = Files.writeString(dir.resolve("policy.yaml"), """
                tenants:
                  search:
                    models: [m]
                    quota: {concurrent: 1}
                  reports:
                    models:
                      - {model: m, tracks: [stable]}
                """);
        FrontDoor door = new AuthSettings(true, keys, policy, 1000, null, List.of(), "sub", null, null, null, "off")
                .frontDoor(FrontDoor.Events.NONE);
        f = new Fixtures(Fixtures.POLICY, Fixtures.catalog(Map.of("m", Set.of("1", "2"), "secret", Set.of("1"))), door);
        f.table.replaceAll(1, List.of(new Route("m", "1", "2", 100, 1)));
        f.endpoints("m:1", "10.0.0.1:1", "m:2", "10.0.0.2:1", "secret:1", "10.0.0.3:1");
    }

    @Test
    void authenticationNamesWhatIsAccepted() throws Forwarding.Refused {
        var e = assertThrows(Forwarding.Refused.class, () -> f.forwarding.authenticate(new Presented(null, null, null), Operation.INFER));
        assertEquals(StatusCode.UNAUTHENTICATED, e.outcome().code());
        assertTrue(e.getMessage().contains("API key"), e.getMessage());
        assertEquals("search", f.forwarding.authenticate(new Presented(null, "ks", null), Operation.INFER).tenant());
    }

    @Test
    void ungrantedModelsAreDeniedBeforeRoutingSoNothingLeaks() {
        for (String model : List.of("secret", "does-not-exist")) {
            var e = assertThrows(Forwarding.Refused.class, () -> f.forwarding.target(search, Operation.INFER, model, "", null, null, null));
            assertEquals(StatusCode.PERMISSION_DENIED, e.outcome().code());
            assertTrue(e.getMessage().contains("'" + model + "'"), e.getMessage());
        }
        assertEquals(List.of("m"), f.forwarding.index(search).stream().map(Forwarding.Listed::model).distinct().toList());
        assertFalse(f.forwarding.visible(reports, "secret"));
    }

    @Test
    void aStableOnlyTenantIsRoutedToStableAndRefusedTheCanaryByName() throws Forwarding.Refused {
        for (int i = 0; i < 20; i++) {
            Target t = f.forwarding.target(reports, Operation.INFER, "m", "", null, null, null);
            assertEquals("stable", t.track(), "weight 100 would send everyone else to the canary");
        }
        assertEquals("canary", f.forwarding.target(search, Operation.INFER, "m", "", null, null, null).track());
        var e = assertThrows(Forwarding.Refused.class, () -> f.forwarding.target(reports, Operation.INFER, "m", "2", null, null, null));
        assertEquals(StatusCode.PERMISSION_DENIED, e.outcome().code());
        assertTrue(e.getMessage().contains("tracks [stable]"), e.getMessage());
    }

    @Test
    void theQuotaIsHeldForTheCallAndReleasedWhenItFinishes() throws Forwarding.Refused {
        Target t = f.forwarding.target(search, Operation.INFER, "m", "1", null, null, null);
        Quotas.Permit p = f.forwarding.admit(search, Operation.INFER, t);
        var e = assertThrows(Forwarding.Refused.class, () -> f.forwarding.admit(search, Operation.INFER, t));
        assertEquals(StatusCode.RESOURCE_EXHAUSTED, e.outcome().code());
        assertTrue(e.retryAfterMillis() > 0);
        ForwardingTest.Scripted up = new ForwardingTest.Scripted(Outcome.OK);
        f.forwarding.start(CallKind.primary("ModelInfer", true), t, search, p, up, 0, true);
        assertEquals(List.of(Outcome.OK), up.finished);
        assertEquals(List.of("search/m/OK"), f.events.tenantCalls);
        f.forwarding.admit(search, Operation.INFER, t).release(); // room again
    }

    @Test
    void adminOperationsNeedAnAdminTenant() {
        var e = assertThrows(Forwarding.Refused.class, () -> f.forwarding.authorizeAdmin(search, "m"));
        assertEquals(StatusCode.PERMISSION_DENIED, e.outcome().code());
        assertTrue(e.getMessage().contains("admin"), e.getMessage());
    }
}
