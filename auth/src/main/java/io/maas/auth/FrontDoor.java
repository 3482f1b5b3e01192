package io.maas.auth;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The one place that decides whether a call may pass: who the caller is ({@link Authenticator}),
 * whether the policy lets its tenant do this to this model ({@link TenantPolicy}), and whether its
 * quotas have room ({@link Quotas}). Every refusal and every admin operation is written as one
 * JSON line to the {@code io.maas.audit} logger and reported to {@link Events} (metrics).
 */
public final class FrontDoor {
    private static final System.Logger AUDIT = System.getLogger("io.maas.audit");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What the front door reports besides its answers. */
    public interface Events {
        /** A call refused: {@code tenant} is null when the caller could not be authenticated. */
        void refused(String tenant, Operation op, String model, AuthException why);

        Events NONE = (tenant, op, model, why) -> { };
    }

    private final Authenticator authenticator;
    private final java.util.function.Supplier<TenantPolicy> policyFile;
    private final Quotas quotas;
    private final Events events;
    private final Sampler throttled = new Sampler();

    /**
     * @param authenticator null when authentication is off (every caller is {@link Caller#ANONYMOUS})
     * @param policyFile    the policy in force (a {@link Reloading} file), or null for {@link TenantPolicy#allowAll()}
     */
    public FrontDoor(Authenticator authenticator, java.util.function.Supplier<TenantPolicy> policyFile, Quotas quotas,
                     Events events) {
        this.authenticator = authenticator;
        this.policyFile = policyFile;
        this.quotas = quotas;
        this.events = events;
    }

    /** Everyone passes: authentication off, no policy, no quotas. */
    public static FrontDoor open() {
        return new FrontDoor(null, null, new Quotas(), Events.NONE);
    }

    /** Which credentials are accepted, for messages and logs; "none" when authentication is off. */
    public String accepted() {
        return authenticator == null ? "none (authentication is off)" : authenticator.accepted();
    }

    public boolean authenticates() {
        return authenticator != null;
    }

    private TenantPolicy policy() {
        return policyFile == null ? POLICY_ALLOW_ALL : policyFile.get();
    }

    private static final TenantPolicy POLICY_ALLOW_ALL = TenantPolicy.allowAll();

    public Caller authenticate(Presented presented, Operation op) {
        if (authenticator == null) {
            return Caller.ANONYMOUS;
        }
        try {
            return authenticator.authenticate(presented);
        } catch (AuthException e) {
            refused(null, op, null, e);
            throw e;
        }
    }

    /** Before routing: may the tenant do {@code op} on this model at all? (Unknown models are refused alike, so the answer does not reveal which exist.) */
    public void authorize(Caller caller, Operation op, String model) {
        if (caller == Caller.ANONYMOUS) {
            return; // authentication is off: no tenant to hold to a policy
        }
        TenantPolicy p = policy();
        if (!p.allows(caller.tenant(), op, model)) {
            throw refused(caller.tenant(), op, model, new AuthException(AuthException.Kind.PERMISSION_DENIED, "not-granted",
                    "tenant '" + caller.tenant() + "' may not " + verb(op) + " model '" + model + "'"
                    + (op == Operation.ADMIN ? " (repository load and unload are for admin tenants)" : "")
                    + ": ask the platform team to grant it in the access policy"));
        }
    }

    /** After routing: may the tenant reach this version on this track? */
    public void authorize(Caller caller, Operation op, String model, String version, String track) {
        if (caller == Caller.ANONYMOUS) {
            return;
        }
        TenantPolicy p = policy();
        if (!p.allows(caller.tenant(), op, model, version, track)) {
            throw refused(caller.tenant(), op, model, new AuthException(AuthException.Kind.PERMISSION_DENIED, "not-granted",
                    "tenant '" + caller.tenant() + "' may not " + verb(op) + " model '" + model + "' version " + version
                    + " (track " + track + "); it may: " + p.describe(caller.tenant(), model)));
        }
    }

    /** Whether the tenant's calls to the model must stay on the stable track (see {@link TenantPolicy#stableOnly}). */
    public boolean stableOnly(Caller caller, Operation op, String model) {
        return caller != Caller.ANONYMOUS && policy().stableOnly(caller.tenant(), op, model);
    }

    /** Whether the model shows in the tenant's model list. */
    public boolean visible(Caller caller, String model) {
        return caller == Caller.ANONYMOUS || policy().allows(caller.tenant(), Operation.METADATA, model)
                || policy().allows(caller.tenant(), Operation.INFER, model);
    }

    public boolean isAdmin(Caller caller) {
        return caller == Caller.ANONYMOUS || policy().isAdmin(caller.tenant());
    }

    /** Takes room in the tenant's quotas for one call; release the permit when the call ends. */
    public Quotas.Permit admit(Caller caller, Operation op, String model) {
        try {
            return quotas.admit(policy(), caller.tenant(), model);
        } catch (AuthException e) {
            throw refused(caller.tenant(), op, model, e);
        }
    }

    /** Records an admin operation that was carried out (repository load/unload). */
    public void audited(Caller caller, Operation op, String model, String what) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("event", "admin");
        line.put("tenant", caller.tenant());
        line.put("credential", caller.via().label());
        line.put("operation", what);
        line.put("model", model);
        AUDIT.log(System.Logger.Level.INFO, json(line));
    }

    private AuthException refused(String tenant, Operation op, String model, AuthException e) {
        events.refused(tenant, op, model, e);
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("event", "refused");
        line.put("tenant", tenant);
        line.put("operation", op.label());
        line.put("model", model);
        line.put("code", e.kind().name());
        line.put("reason", e.reason());
        line.put("message", e.getMessage());
        if (e.kind() == AuthException.Kind.RESOURCE_EXHAUSTED) {
            // a throttled tenant may be refused thousands of times a second: one line per tenant,
            // model and reason per second, counting the refusals it stands for
            long count = throttled.record(tenant + '\0' + model + '\0' + e.reason());
            if (count == 0) {
                return e;
            }
            line.put("count", count);
        }
        AUDIT.log(System.Logger.Level.INFO, json(line));
        return e;
    }

    /** Counts events per key and lets one through per second, with the count since the last. */
    private static final class Sampler {
        private final java.util.concurrent.ConcurrentHashMap<String, long[]> byKey = new java.util.concurrent.ConcurrentHashMap<>();

        /** 0 to stay quiet, else the number of events this line stands for. */
        long record(String key) {
            long now = System.nanoTime();
            long[] s = byKey.computeIfAbsent(key, k -> new long[] {now - 2_000_000_000L, 0});
            synchronized (s) {
                s[1]++;
                if (now - s[0] < 1_000_000_000L) {
                    return 0;
                }
                long n = s[1];
                s[0] = now;
                s[1] = 0;
                return n;
            }
        }
    }

    private static String json(Map<String, Object> line) {
        try {
            return JSON.writeValueAsString(line);
        } catch (JsonProcessingException e) {
            return line.toString();
        }
    }

    private static String verb(Operation op) {
        return switch (op) {
            case INFER -> "call";
            case METADATA -> "read the metadata of";
            case ADMIN -> "load or unload";
        };
    }
}
