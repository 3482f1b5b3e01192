package io.maas.auth;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PolicyAndQuotasTest {
    private static final Path FILE = Path.of("policy.yaml");

    private static TenantPolicy policy(String yaml) {
        return TenantPolicy.parse(FILE, yaml.getBytes());
    }

    @Test
    void grantsByGlobVersionTrackAndOperation() {
        TenantPolicy p = policy("""
                tenants:
                  search:
                    models: ["minilm", "text-*"]
                  reports:
                    models:
                      - {model: minilm, tracks: [stable], operations: [infer]}
                  ops: {admin: true}
                  "*": {models: [public-*]}
                """);
        assertTrue(p.allows("search", Operation.INFER, "minilm"));
        assertTrue(p.allows("search", Operation.METADATA, "text-classifier"));
        assertFalse(p.allows("search", Operation.INFER, "minilm-q"));
        assertFalse(p.allows("search", Operation.ADMIN, "minilm"));
        assertTrue(p.allows("reports", Operation.INFER, "minilm", "1", "stable"));
        assertFalse(p.allows("reports", Operation.INFER, "minilm", "2", "canary"));
        assertFalse(p.allows("reports", Operation.METADATA, "minilm"));
        assertTrue(p.stableOnly("reports", Operation.INFER, "minilm"));
        assertFalse(p.stableOnly("search", Operation.INFER, "minilm"));
        assertTrue(p.allows("ops", Operation.ADMIN, "anything"));
        assertTrue(p.isAdmin("ops"));
        assertTrue(p.allows("someone-else", Operation.INFER, "public-model"));
        assertFalse(p.allows("someone-else", Operation.INFER, "minilm"));
        assertTrue(p.describe("reports", "minilm").contains("tracks [stable]"), p.describe("reports", "minilm"));
    }

    @Test
    void unknownTenantWithoutDefaultMayDoNothing() {
        TenantPolicy p = policy("tenants:\n  a: {models: ['*']}\n");
        assertFalse(p.allows("b", Operation.INFER, "m"));
        assertTrue(TenantPolicy.allowAll().allows("b", Operation.INFER, "m"));
        assertFalse(TenantPolicy.allowAll().allows("b", Operation.ADMIN, "m"));
    }

    @Test
    void badPoliciesNameTheirMistake() {
        var e = assertThrows(IllegalArgumentException.class, () -> policy("tenants:\n  a: {model: ['x']}\n"));
        assertTrue(e.getMessage().contains("unknown field 'model'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> policy("tenants:\n  a: {models: [{model: x, operations: [delete]}]}\n"));
        assertTrue(e.getMessage().contains("delete"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> policy("nothing: here\n"));
    }

    @Test
    void rateQuotaRefillsAndSaysWhenToRetry() {
        AtomicLong clock = new AtomicLong();
        Quotas q = new Quotas(clock::get);
        TenantPolicy p = policy("tenants:\n  a: {models: ['*'], quota: {requestsPerSecond: 10, burst: 2}}\n  b: {models: ['*']}\n");
        q.admit(p, "a", "m").release();
        q.admit(p, "a", "m").release();
        AuthException e = assertThrows(AuthException.class, () -> q.admit(p, "a", "m"));
        assertEquals(AuthException.Kind.RESOURCE_EXHAUSTED, e.kind());
        assertEquals(100, e.retryAfterMillis());
        for (int i = 0; i < 100; i++) {
            q.admit(p, "b", "m").release(); // another tenant is not affected
        }
        clock.addAndGet(100_000_000L);
        q.admit(p, "a", "m").release();
        assertThrows(AuthException.class, () -> q.admit(p, "a", "m"));
    }

    @Test
    void concurrencyQuotaPerTenantAndPerModel() {
        Quotas q = new Quotas(() -> 0);
        TenantPolicy p = policy("tenants:\n  a: {models: ['*'], quota: {concurrent: 3}, modelQuotas: {big: {concurrent: 1}}}\n");
        Quotas.Permit big = q.admit(p, "a", "big");
        assertEquals("quota-concurrent", assertThrows(AuthException.class, () -> q.admit(p, "a", "big")).reason());
        Quotas.Permit s1 = q.admit(p, "a", "small");
        q.admit(p, "a", "small");
        assertThrows(AuthException.class, () -> q.admit(p, "a", "small"));
        s1.release();
        q.admit(p, "a", "small");
        big.release();
        q.admit(p, "a", "big");
        assertEquals("quota-concurrent", assertThrows(AuthException.class, () -> q.admit(p, "a", "small")).reason(),
                "3 in flight: the tenant's overall limit");
    }

    @Test
    void saturatedModelIsSharedFairly() {
        Quotas q = new Quotas(() -> 0);
        TenantPolicy p = policy("tenants:\n  '*': {models: ['*']}\nfairShare: {concurrentPerModel: 4}\n");
        List<Quotas.Permit> noisy = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            noisy.add(q.admit(p, "noisy", "m")); // alone, a tenant may take every slot
        }
        assertEquals("fair-share", assertThrows(AuthException.class, () -> q.admit(p, "noisy", "m")).reason());
        Quotas.Permit quiet = q.admit(p, "quiet", "m"); // below its share of 4 / 2
        q.admit(p, "quiet", "m");
        assertThrows(AuthException.class, () -> q.admit(p, "quiet", "m"), "its share is 2 now");
        noisy.get(0).release();
        noisy.get(1).release();
        noisy.get(2).release();
        q.admit(p, "noisy", "m"); // 3 in flight: below saturation, anyone may enter
        assertThrows(AuthException.class, () -> q.admit(p, "noisy", "m"), "saturated again, and noisy holds its share of 2");
        quiet.release();
        q.admit(p, "quiet", "m");
    }
}
