package io.maas.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What each tenant may do: which models (names or globs), optionally only some versions or tracks,
 * which operations, and its quotas. Read from YAML (or JSON):
 * <pre>
 * tenants:
 *   search:                       # an API key's tenant, a JWT's tenant claim, a certificate's name
 *     models: ["minilm", "text-*"]           # infer + metadata on any version
 *     quota: {requestsPerSecond: 50, burst: 100, concurrent: 8}
 *     modelQuotas: {minilm: {requestsPerSecond: 20}}
 *   reports:
 *     models:
 *       - {model: minilm, tracks: [stable], operations: [infer]}
 *   ops: {admin: true}                       # every model, every operation, repository load/unload
 *   "*": {models: []}                        # any other authenticated tenant
 * fairShare: {concurrentPerModel: 64}
 * </pre>
 * A tenant the policy does not name (and no {@code "*"} entry) may do nothing. Without a policy
 * file, {@link #allowAll()}: every authenticated tenant may infer and read metadata, none is admin.
 */
public final class TenantPolicy {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Set<Operation> DEFAULT_OPERATIONS = EnumSet.of(Operation.INFER, Operation.METADATA);

    /** One grant: a model glob with the versions, tracks and operations allowed on it (empty = any). */
    record Grant(Pattern model, String glob, Set<String> versions, Set<String> tracks, Set<Operation> operations) {
        boolean matches(String m, Operation op) {
            return operations.contains(op) && model.matcher(m).matches();
        }

        boolean allows(String version, String track) {
            return (versions.isEmpty() || versions.contains(version)) && (tracks.isEmpty() || tracks.contains(track));
        }
    }

    record Tenant(List<Grant> grants, boolean admin, Quota quota, Map<String, Quota> modelQuotas) {
    }

    private static final Tenant ALLOW_ALL = new Tenant(List.of(new Grant(Pattern.compile(".*"), "*", Set.of(), Set.of(),
            DEFAULT_OPERATIONS)), false, Quota.NONE, Map.of());
    private static final Tenant NOTHING = new Tenant(List.of(), false, Quota.NONE, Map.of());

    private final Map<String, Tenant> tenants;
    private final Tenant others;
    private final int fairShareConcurrentPerModel;

    private TenantPolicy(Map<String, Tenant> tenants, Tenant others, int fairShare) {
        this.tenants = Map.copyOf(tenants);
        this.others = others;
        this.fairShareConcurrentPerModel = fairShare;
    }

    public static TenantPolicy allowAll() {
        return new TenantPolicy(Map.of(), ALLOW_ALL, 0);
    }

    /** Only these tenants, each an admin (an inference pod's repository API: load and unload). */
    public static TenantPolicy admins(java.util.Collection<String> admins) {
        Tenant admin = new Tenant(List.of(new Grant(Pattern.compile(".*"), "*", Set.of(), Set.of(),
                EnumSet.allOf(Operation.class))), true, Quota.NONE, Map.of());
        Map<String, Tenant> tenants = new HashMap<>();
        admins.forEach(t -> tenants.put(t, admin));
        return new TenantPolicy(tenants, NOTHING, 0);
    }

    /** The policy in {@code content}, read from {@code file} (named in errors). */
    public static TenantPolicy parse(Path file, byte[] content) {
        JsonNode root;
        try {
            root = YAML.readTree(content);
        } catch (IOException e) {
            throw new IllegalArgumentException(file + " is not YAML: " + e.getMessage());
        }
        if (root == null || !root.path("tenants").isObject()) {
            throw new IllegalArgumentException(file + " has no 'tenants' map");
        }
        Map<String, Tenant> tenants = new HashMap<>();
        Tenant others = NOTHING;
        for (Iterator<Map.Entry<String, JsonNode>> it = root.path("tenants").fields(); it.hasNext(); ) {
            var e = it.next();
            Tenant t = tenant(file + " tenant '" + e.getKey() + "'", e.getValue());
            if (e.getKey().equals("*")) {
                others = t;
            } else {
                tenants.put(e.getKey(), t);
            }
        }
        int fair = root.path("fairShare").path("concurrentPerModel").asInt(0);
        if (fair < 0) {
            throw new IllegalArgumentException(file + ": fairShare.concurrentPerModel must be >= 0");
        }
        return new TenantPolicy(tenants, others, fair);
    }

    private static Tenant tenant(String where, JsonNode n) {
        if (!n.isObject()) {
            throw new IllegalArgumentException(where + " must be a map (models, admin, quota, modelQuotas)");
        }
        for (Iterator<String> f = n.fieldNames(); f.hasNext(); ) {
            String field = f.next();
            if (!Set.of("models", "admin", "quota", "modelQuotas").contains(field)) {
                throw new IllegalArgumentException(where + ": unknown field '" + field + "' (models, admin, quota, modelQuotas)");
            }
        }
        boolean admin = n.path("admin").asBoolean(false);
        List<Grant> grants = new ArrayList<>();
        if (admin) {
            grants.add(new Grant(Pattern.compile(".*"), "*", Set.of(), Set.of(), EnumSet.allOf(Operation.class)));
        }
        for (JsonNode g : n.path("models")) {
            if (g.isTextual()) {
                grants.add(new Grant(glob(g.asText()), g.asText(), Set.of(), Set.of(), DEFAULT_OPERATIONS));
            } else if (g.isObject() && g.path("model").isTextual()) {
                Set<Operation> ops = EnumSet.noneOf(Operation.class);
                for (JsonNode op : g.path("operations")) {
                    ops.add(Operation.of(op.asText()));
                }
                grants.add(new Grant(glob(g.path("model").asText()), g.path("model").asText(), strings(g.path("versions")),
                        strings(g.path("tracks")), ops.isEmpty() ? DEFAULT_OPERATIONS : ops));
            } else {
                throw new IllegalArgumentException(where + ": each entry of 'models' is a name/glob or {model, versions, tracks, operations}");
            }
        }
        Map<String, Quota> modelQuotas = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = n.path("modelQuotas").fields(); it.hasNext(); ) {
            var e = it.next();
            modelQuotas.put(e.getKey(), quota(where + " modelQuotas." + e.getKey(), e.getValue()));
        }
        return new Tenant(grants, admin, quota(where + " quota", n.path("quota")), modelQuotas);
    }

    private static Quota quota(String where, JsonNode q) {
        if (q.isMissingNode() || q.isNull()) {
            return Quota.NONE;
        }
        double rps = q.path("requestsPerSecond").asDouble(0);
        int burst = q.path("burst").asInt(0);
        int concurrent = q.path("concurrent").asInt(0);
        if (rps < 0 || burst < 0 || concurrent < 0) {
            throw new IllegalArgumentException(where + ": limits must be >= 0 (0 = unlimited)");
        }
        return new Quota(rps, burst, concurrent);
    }

    private static Set<String> strings(JsonNode array) {
        Set<String> out = new java.util.HashSet<>();
        for (JsonNode s : array) {
            out.add(s.asText());
        }
        return Set.copyOf(out);
    }

    static Pattern glob(String glob) {
        StringBuilder re = new StringBuilder();
        for (char c : glob.toCharArray()) {
            switch (c) {
                case '*' -> re.append(".*");
                case '?' -> re.append('.');
                default -> re.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return Pattern.compile(re.toString());
    }

    private Tenant of(String tenant) {
        return tenants.getOrDefault(tenant, others);
    }

    public boolean isAdmin(String tenant) {
        return of(tenant).admin();
    }

    /** Whether the tenant may do {@code op} on some version of the model: filters lists, decides before routing. */
    public boolean allows(String tenant, Operation op, String model) {
        for (Grant g : of(tenant).grants()) {
            if (g.matches(model, op)) {
                return true;
            }
        }
        return false;
    }

    /** Whether the tenant may do {@code op} on this version, reached on this track. */
    public boolean allows(String tenant, Operation op, String model, String version, String track) {
        for (Grant g : of(tenant).grants()) {
            if (g.matches(model, op) && g.allows(version, track)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether the tenant's grants on the model allow the stable track but not the canary: its calls
     * are then routed to stable (as with {@code x-maas-canary: never}) rather than refused when the
     * weighted split would pick the canary.
     */
    public boolean stableOnly(String tenant, Operation op, String model) {
        boolean any = false;
        for (Grant g : of(tenant).grants()) {
            if (g.matches(model, op)) {
                if (g.tracks().isEmpty() || g.tracks().contains("canary")) {
                    return false;
                }
                any |= g.tracks().contains("stable");
            }
        }
        return any;
    }

    /** What the tenant may do on the model, for a refusal's message. */
    public String describe(String tenant, String model) {
        List<String> parts = new ArrayList<>();
        for (Grant g : of(tenant).grants()) {
            if (g.model().matcher(model).matches()) {
                parts.add(g.operations().stream().map(Operation::label).sorted().toList()
                        + (g.versions().isEmpty() ? "" : " versions " + new java.util.TreeSet<>(g.versions()))
                        + (g.tracks().isEmpty() ? "" : " tracks " + new java.util.TreeSet<>(g.tracks())));
            }
        }
        return parts.isEmpty() ? "nothing" : String.join("; ", parts);
    }

    public Quota quota(String tenant) {
        return of(tenant).quota();
    }

    public Quota quota(String tenant, String model) {
        return of(tenant).modelQuotas().getOrDefault(model, Quota.NONE);
    }

    /** Calls in flight on one model (all tenants) from which each tenant gets an equal share; 0 = off. */
    public int fairShareConcurrentPerModel() {
        return fairShareConcurrentPerModel;
    }
}
