package io.maas.router.domain;

import java.util.List;
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

        Refused(StatusCode code, String message) {
            super(message, null, false, false);
            this.outcome = Outcome.of(code, message);
        }

        public Outcome outcome() {
            return outcome;
        }
    }

    final RoutingTable table;
    final EndpointPool pool;
    final CanaryGuard canary;
    final RouterState state;
    final ForwardingEvents events;
    final BalancerPolicy policy;
    private final ModelCatalog catalog;

    public Forwarding(RoutingTable table, EndpointPool pool, ModelCatalog catalog, CanaryGuard canary,
                      RouterState state, ForwardingEvents events, BalancerPolicy policy) {
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

    /**
     * The version a call goes to ({@link VersionChooser}'s precedence). A model or version that
     * neither the routing table, the registry's catalog nor any pod knows is NOT_FOUND, naming what
     * exists: such a call can never succeed, so it must not get a status that invites a retry.
     *
     * @param version the request's own version, or empty
     */
    public Target target(String model, String version, String pinHeader, String canaryHeader, String routingKey)
            throws Refused {
        if (model == null || model.isEmpty()) {
            throw new Refused(StatusCode.INVALID_ARGUMENT, "model name is required");
        }
        Route route = table.route(model);
        boolean explicit = version != null && !version.isEmpty();
        String named = explicit ? version : pinHeader;
        if (named != null && !named.isEmpty() && !knows(model, route, named)) {
            Set<String> known = known(model, route);
            if (known.isEmpty()) {
                throw new Refused(StatusCode.NOT_FOUND, "unknown model '" + model + "'" + models(catalog));
            }
            throw new Refused(StatusCode.NOT_FOUND, "model '" + model + "' has no version '" + named + "'"
                    + (explicit ? "" : " (from the x-model-version header)") + "; versions: " + String.join(", ", known));
        }
        // without routing (local runs without a registry) the pods' versions decide; read them once
        List<String> served = route == null ? pool.versions(model) : List.of();
        if (route == null && served.isEmpty() && catalog.versions(model).isEmpty()) {
            throw new Refused(StatusCode.NOT_FOUND, "unknown model '" + model + "'" + models(catalog));
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
        return new Target(key, track, route);
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

    private static String models(ModelCatalog catalog) {
        Set<String> all = new TreeSet<>(catalog.models());
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
        ForwardedCall call = new ForwardedCall(this, kind, target, upstream, deadlineNanos, callerDeadline);
        call.begin();
        return call;
    }

    /** The deadline of a call whose caller set none, per the policy: 0 for none. */
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
