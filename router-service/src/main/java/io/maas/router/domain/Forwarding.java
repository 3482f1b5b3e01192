package io.maas.router.domain;

import io.maas.auth.AuthException;
import io.maas.auth.Caller;
import io.maas.auth.FrontDoor;
import io.maas.auth.Operation;
import io.maas.auth.Presented;
import io.maas.auth.Quotas;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.Set;
import java.util.TreeSet;

/**
 * The router's forwarding pipeline, the one place that decides what happens to a call: choose
 * the version (refusing models and versions nobody knows), pick an endpoint, judge each attempt's
 * outcome ({@link Fault}), retry or eject, record the call and the canary's evidence. gRPC, REST
 * and shadow calls are thin {@link Upstream} transports over it.
 */
public final class Forwarding {

    private static final System.Logger LOG = System.getLogger(Forwarding.class.getName());

    /** A call refused before any pod is asked; the outcome says why and what to fix. */
    public static final class Refused extends Exception {
        private final transient Outcome outcome;
        private final long retryAfterMillis;

        Refused(StatusCode code, String message) {
            this(code, message, 0);
        }

        Refused(StatusCode code, String message, long retryAfterMillis) {
            super(message, null, false, false);
            this.outcome = Outcome.of(code, message);
            this.retryAfterMillis = retryAfterMillis;
        }

        /** The front door's refusal (authentication, authorization, quota) as the pipeline's. */
        static Refused of(AuthException e) {
            StatusCode code = switch (e.kind()) {
                case UNAUTHENTICATED -> StatusCode.UNAUTHENTICATED;
                case PERMISSION_DENIED -> StatusCode.PERMISSION_DENIED;
                case RESOURCE_EXHAUSTED -> StatusCode.RESOURCE_EXHAUSTED;
            };
            return new Refused(code, e.getMessage(), e.retryAfterMillis());
        }

        public Outcome outcome() {
            return outcome;
        }

        /** For a quota refusal: when a retry may pass (gRPC's grpc-retry-pushback-ms, HTTP's Retry-After); else 0. */
        public long retryAfterMillis() {
            return retryAfterMillis;
        }
    }

    final RoutingTable table;
    final EndpointPool pool;
    final CanaryGuard canary;
    final RouterState state;
    final ForwardingEvents events;
    final BalancerPolicy policy;
    private final ModelCatalog catalog;
    private final FrontDoor door;

    public Forwarding(RoutingTable table, EndpointPool pool, ModelCatalog catalog, CanaryGuard canary,
                      RouterState state, ForwardingEvents events, BalancerPolicy policy, FrontDoor door) {
        this.door = door;
        this.table = table;
        this.pool = pool;
        this.catalog = catalog;
        this.canary = canary;
        this.state = state;
        this.events = events;
        this.policy = policy;
    }

    public BalancerPolicy policy() {
        return policy;
    }

    /** Who is calling: UNAUTHENTICATED (naming the credentials accepted) unless the call proves it. */
    public Caller authenticate(Presented presented, Operation op) throws Refused {
        try {
            return door.authenticate(presented, op);
        } catch (AuthException e) {
            throw Refused.of(e);
        }
    }

    /**
     * The version a call of {@code caller} goes to: refused unless the policy grants the tenant
     * {@code op} on the model (checked first, so a refusal does not tell which models exist) and
     * on the version and track chosen. A tenant granted only the stable track is routed to it.
     */
    public Target target(Caller caller, Operation op, String model, String version, String pinHeader,
                         String canaryHeader, String routingKey) throws Refused {
        try {
            if (model != null && !model.isEmpty()) {
                door.authorize(caller, op, model);
            }
            Target t = target(caller, model, version, pinHeader,
                    door.stableOnly(caller, op, model) ? "never" : canaryHeader, routingKey);
            door.authorize(caller, op, model, t.key().version(), t.track());
            return t;
        } catch (AuthException e) {
            throw Refused.of(e);
        }
    }

    /** Room in the caller's quotas for one call to the target; released when the call finishes. */
    public Quotas.Permit admit(Caller caller, Operation op, Target target) throws Refused {
        try {
            return door.admit(caller, op, target.key().model());
        } catch (AuthException e) {
            throw Refused.of(e);
        }
    }

    /** One entry of the model list: a version, and whether any discovered pod serves it now. */
    public record Listed(String model, String version, boolean served) {
    }

    /**
     * The models and versions the caller may see: the registry's catalog, the routing table and
     * the discovered pods together, filtered by the caller's policy.
     */
    public List<Listed> index(Caller caller) {
        Map<String, Set<String>> all = new TreeMap<>();
        for (String m : catalog.models()) {
            all.computeIfAbsent(m, k -> new TreeSet<>()).addAll(catalog.versions(m));
        }
        for (Route r : table.routes().values()) {
            Set<String> v = all.computeIfAbsent(r.model(), k -> new TreeSet<>());
            v.add(r.stable());
            if (r.hasCanary()) {
                v.add(r.canary());
            }
        }
        for (ModelKey k : pool.groups().keySet()) {
            all.computeIfAbsent(k.model(), m -> new TreeSet<>()).add(k.version());
        }
        List<Listed> out = new ArrayList<>();
        all.forEach((model, versions) -> {
            if (door.visible(caller, model)) {
                for (String v : versions) {
                    out.add(new Listed(model, v, !pool.endpoints(new ModelKey(model, v)).isEmpty()));
                }
            }
        });
        return out;
    }

    /** Whether the caller's model lists show the model. */
    public boolean visible(Caller caller, String model) {
        return door.visible(caller, model);
    }

    /** The policy's word on an admin operation (repository load/unload): refused unless the tenant is an admin. */
    public void authorizeAdmin(Caller caller, String model) throws Refused {
        try {
            door.authorize(caller, Operation.ADMIN, model);
        } catch (AuthException e) {
            throw Refused.of(e);
        }
    }

    /**
     * The version a call goes to ({@link VersionChooser}'s precedence), with no policy applied:
     * shadow calls and tests. A model or version that
     * neither the routing table, the registry's catalog nor any pod knows is NOT_FOUND, naming what
     * exists: such a call can never succeed, so it must not get a status that invites a retry.
     *
     * @param version the request's own version, or empty
     */
    public Target target(String model, String version, String pinHeader, String canaryHeader, String routingKey)
            throws Refused {
        return target(Caller.ANONYMOUS, model, version, pinHeader, canaryHeader, routingKey);
    }

    private Target target(Caller caller, String model, String version, String pinHeader, String canaryHeader,
                          String routingKey) throws Refused {
        if (model == null || model.isEmpty()) {
            throw new Refused(StatusCode.INVALID_ARGUMENT, "model name is required");
        }
        Route route = table.route(model);
        boolean explicit = version != null && !version.isEmpty();
        String named = explicit ? version : pinHeader;
        if (named != null && !named.isEmpty() && !knows(model, route, named)) {
            Set<String> known = known(model, route);
            if (known.isEmpty()) {
                throw new Refused(StatusCode.NOT_FOUND, "unknown model '" + model + "'" + models(caller));
            }
            throw new Refused(StatusCode.NOT_FOUND, "model '" + model + "' has no version '" + named + "'"
                    + (explicit ? "" : " (from the x-model-version header)") + "; versions: " + String.join(", ", known));
        }
        // without routing (local runs without a registry) the pods' versions decide; read them once
        List<String> served = route == null ? pool.versions(model) : List.of();
        if (route == null && served.isEmpty() && catalog.versions(model).isEmpty()) {
            throw new Refused(StatusCode.NOT_FOUND, "unknown model '" + model + "'" + models(caller));
        }
        VersionChooser.Choice choice = VersionChooser.choose(route, version, pinHeader, canaryHeader, routingKey);
        if (choice == null) {
            // no routing: the one version the pods serve
            if (served.size() != 1) {
                throw new Refused(served.isEmpty() ? StatusCode.UNAVAILABLE : StatusCode.FAILED_PRECONDITION,
                        "model '" + model + "' has no routing in the registry and "
                        + (served.isEmpty() ? "no pod serves it (versions: " + String.join(", ", known(model, null)) + ")"
                        : "pods serve several versions " + served + ": name a version"));
            }
            choice = new VersionChooser.Choice(served.get(0), "stable", "only-version");
        }
        ModelKey key = new ModelKey(model, choice.version());
        String track = choice.track();
        if ("other".equals(track)) {
            String label = pool.trackLabel(key);
            if (label != null) {
                track = label;
            }
        }
        return new Target(key, track, route, "weighted".equals(choice.reason()) || "sticky".equals(choice.reason()));
    }

    /** Checked on every call that names a version, cheapest source first: no allocation on the way. */
    private boolean knows(String model, Route route, String version) {
        if (route != null && (version.equals(route.stable()) || version.equals(route.canary()))) {
            return true;
        }
        return !pool.endpoints(new ModelKey(model, version)).isEmpty() || catalog.versions(model).contains(version);
    }

    /** Every version anybody knows of the model, for the refusal's message. */
    private Set<String> known(String model, Route route) {
        Set<String> known = new TreeSet<>(catalog.versions(model));
        known.addAll(pool.versions(model));
        if (route != null) {
            known.add(route.stable());
            if (route.canary() != null && !route.canary().isEmpty()) {
                known.add(route.canary());
            }
        }
        return known;
    }

    /** The models the caller may see, for a refusal's message. */
    private String models(Caller caller) {
        Set<String> all = new TreeSet<>();
        for (String m : catalog.models()) {
            if (door.visible(caller, m)) {
                all.add(m);
            }
        }
        if (all.isEmpty()) {
            return "";
        }
        return all.size() > 20 ? "; " + all.size() + " models are registered" : "; models: " + String.join(", ", all);
    }

    /**
     * Starts forwarding: the first attempt is sent before this returns (or the call finishes at
     * once when no endpoint can take it).
     *
     * @param deadlineNanos   {@link System#nanoTime()} by which the call must end, or 0 for none
     * @param callerDeadline  whether the caller set that deadline (rather than the router's default)
     */
    public ForwardedCall start(CallKind kind, Target target, Upstream upstream, long deadlineNanos,
                               boolean callerDeadline) {
        return start(kind, target, Caller.ANONYMOUS, Quotas.UNLIMITED, upstream, deadlineNanos, callerDeadline);
    }

    /** {@link #start}, for a caller admitted with {@code permit} (released when the call finishes). */
    public ForwardedCall start(CallKind kind, Target target, Caller caller, Quotas.Permit permit, Upstream upstream,
                               long deadlineNanos, boolean callerDeadline) {
        ForwardedCall call = new ForwardedCall(this, kind, target, caller, permit, upstream, deadlineNanos, callerDeadline);
        call.begin();
        return call;
    }

    /** The deadline of a call whose caller set none, per the policy: 0 for none. */
    /** Deadline of calls whose caller set none, in ms (0: none). */
    public long defaultTimeoutMs() {
        return policy.defaultTimeoutMs();
    }

    public long defaultDeadlineNanos() {
        return policy.defaultTimeoutMs() > 0 ? System.nanoTime() + policy.defaultTimeoutMs() * 1_000_000L : 0;
    }

    /** Applies one attempt's outcome to the endpoint's health: only a server fault that says the pod is broken counts. */
    void judge(ModelKey key, Endpoint endpoint, Outcome outcome, Fault fault) {
        if (fault == Fault.NONE) {
            endpoint.success();
        } else if (fault == Fault.SERVER && Fault.ejects(outcome.code()) && pool.failure(key, endpoint)) {
            events.ejection(key, endpoint.address(), outcome);
            LOG.log(System.Logger.Level.WARNING, "ejected {0} serving {1} after {2} consecutive failures (last: {3} {4})",
                    endpoint, key, policy.ejectAfterFailures(), outcome.code(), outcome.message());
        }
    }
}
