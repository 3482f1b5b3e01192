package io.maas.auth;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * Enforces the policy's quotas in one process (one router replica: with N replicas behind a
 * Service each enforces its own, so a tenant's cluster-wide rate is up to N times its quota; set
 * the policy's figures to the cluster-wide limit divided by N). Per tenant, overall and per model:
 * a token bucket for requests per second and a count of calls in flight. Besides quotas, fair
 * sharing: once a model has {@link TenantPolicy#fairShareConcurrentPerModel()} calls in flight
 * across tenants, a tenant already holding its equal share (limit / tenants with calls in flight)
 * waits its turn, so a flood from one tenant cannot take every slot of a saturated model.
 */
public final class Quotas {

    /** Held for the duration of an admitted call. */
    public interface Permit {
        void release();
    }

    public static final Permit UNLIMITED = () -> { };

    /** Retry hint when only calls finishing can make room (concurrency, fair share). */
    static final long BUSY_RETRY_MILLIS = 100;

    private final LongSupplier nanoTime;
    private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> inFlight = new ConcurrentHashMap<>();
    private final Map<String, ModelLoad> models = new ConcurrentHashMap<>();

    public Quotas() {
        this(System::nanoTime);
    }

    Quotas(LongSupplier nanoTime) {
        this.nanoTime = nanoTime;
    }

    /** Admits one call of {@code tenant} to {@code model}, or refuses it with RESOURCE_EXHAUSTED and a retry hint. */
    public Permit admit(TenantPolicy policy, String tenant, String model) {
        Quota overall = policy.quota(tenant);
        Quota perModel = policy.quota(tenant, model);
        int fair = policy.fairShareConcurrentPerModel();
        if (overall == Quota.NONE && perModel == Quota.NONE && fair == 0) {
            return UNLIMITED;
        }
        String modelKey = tenant + '\0' + model;
        AtomicInteger tenantCalls = overall.concurrent() > 0 ? inFlight.computeIfAbsent(tenant, k -> new AtomicInteger()) : null;
        AtomicInteger modelCalls = perModel.concurrent() > 0 ? inFlight.computeIfAbsent(modelKey, k -> new AtomicInteger()) : null;
        if (!acquire(tenantCalls, overall.concurrent())) {
            throw busy("quota-concurrent", "tenant '" + tenant + "' has " + overall.concurrent()
                    + " calls in flight, its limit: wait for one to finish");
        }
        if (!acquire(modelCalls, perModel.concurrent())) {
            release(tenantCalls);
            throw busy("quota-concurrent", "tenant '" + tenant + "' has " + perModel.concurrent() + " calls in flight to model '"
                    + model + "', its limit there: wait for one to finish");
        }
        ModelLoad load = null;
        if (fair > 0) {
            load = models.computeIfAbsent(model, k -> new ModelLoad());
            if (!load.enter(tenant, fair)) {
                release(tenantCalls);
                release(modelCalls);
                throw busy("fair-share", "model '" + model + "' is saturated (" + fair + " calls in flight) and tenant '"
                        + tenant + "' already has its equal share of them: retry shortly");
            }
        }
        try {
            take(tenant, overall, "tenant '" + tenant + "'");
            take(modelKey, perModel, "tenant '" + tenant + "' on model '" + model + "'");
        } catch (AuthException e) {
            release(tenantCalls);
            release(modelCalls);
            if (load != null) {
                load.leave(tenant);
            }
            throw e;
        }
        AtomicInteger t = tenantCalls;
        AtomicInteger m = modelCalls;
        ModelLoad l = load;
        return () -> {
            release(t);
            release(m);
            if (l != null) {
                l.leave(tenant);
            }
        };
    }

    private static boolean acquire(AtomicInteger counter, int limit) {
        if (counter == null) {
            return true;
        }
        if (counter.incrementAndGet() > limit) {
            counter.decrementAndGet();
            return false;
        }
        return true;
    }

    private static void release(AtomicInteger counter) {
        if (counter != null) {
            counter.decrementAndGet();
        }
    }

    private void take(String key, Quota quota, String who) {
        if (!quota.limitsRate()) {
            return;
        }
        Bucket b = buckets.computeIfAbsent(key, k -> new Bucket());
        long wait = b.take(quota, nanoTime.getAsLong());
        if (wait > 0) {
            throw new AuthException(AuthException.Kind.RESOURCE_EXHAUSTED, "quota-rate", who + " is over its quota of "
                    + fmt(quota.requestsPerSecond()) + " requests per second: retry after " + wait + " ms", wait);
        }
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
    }

    private static AuthException busy(String reason, String message) {
        return new AuthException(AuthException.Kind.RESOURCE_EXHAUSTED, reason, message, BUSY_RETRY_MILLIS);
    }

    /** A token bucket; its size and rate follow the quota in force (a reloaded policy applies at once). */
    private static final class Bucket {
        private double tokens = Double.NaN;
        private long last;

        /** 0 when a token was taken, else the milliseconds until one will be there. */
        synchronized long take(Quota q, long now) {
            int size = q.bucket();
            if (Double.isNaN(tokens)) {
                tokens = size;
            } else {
                tokens = Math.min(size, tokens + (now - last) / 1e9 * q.requestsPerSecond());
            }
            last = now;
            if (tokens >= 1) {
                tokens -= 1;
                return 0;
            }
            return Math.max(1, (long) Math.ceil((1 - tokens) / q.requestsPerSecond() * 1000));
        }
    }

    /** Calls in flight on one model, in total and per tenant. */
    private static final class ModelLoad {
        private final Map<String, Integer> byTenant = new java.util.HashMap<>();
        private int total;

        synchronized boolean enter(String tenant, int limit) {
            int mine = byTenant.getOrDefault(tenant, 0);
            if (total >= limit) {
                int active = byTenant.size() + (mine == 0 ? 1 : 0);
                int share = Math.max(1, limit / active);
                if (mine >= share) {
                    return false;
                }
            }
            byTenant.put(tenant, mine + 1);
            total++;
            return true;
        }

        synchronized void leave(String tenant) {
            Integer mine = byTenant.get(tenant);
            if (mine == null) {
                return;
            }
            if (mine <= 1) {
                byTenant.remove(tenant);
            } else {
                byTenant.put(tenant, mine - 1);
            }
            total--;
        }
    }
}
