package io.maas.router.domain;


import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Inference endpoints grouped by model version, fed by static configuration or EndpointSlices.
 * Each address has the transport's connections, kept across updates while the address stays and
 * shut down gracefully (in-flight calls finish) when it goes.
 * Picking is power-of-two-choices on outstanding requests, skipping ejected endpoints.
 */
public final class EndpointPool {

    private static final System.Logger LOG = System.getLogger(EndpointPool.class.getName());

    private final BalancerPolicy policy;
    private final Connections.Factory transport;

    private volatile Map<ModelKey, List<Endpoint>> groups = Map.of();
    private volatile Map<ModelKey, String> tracks = Map.of();
    private final Map<String, Endpoint> byAddress = new ConcurrentHashMap<>();

    public EndpointPool(BalancerPolicy policy, Connections.Factory transport) {
        this.policy = policy;
        this.transport = transport;
    }

    /** Replaces every group; addresses may be shared between groups. */
    public void update(Map<ModelKey, List<String>> addresses, Map<ModelKey, String> trackLabels) {
        update(addresses, trackLabels, Map.of());
    }

    /**
     * Replaces every group.
     *
     * @param httpAddresses each gRPC address's HTTP (REST twin) address, where known
     */
    public synchronized void update(Map<ModelKey, List<String>> addresses, Map<ModelKey, String> trackLabels,
                                    Map<String, String> httpAddresses) {
        Map<ModelKey, List<Endpoint>> next = new HashMap<>();
        Set<String> live = new HashSet<>();
        addresses.forEach((key, list) -> {
            List<Endpoint> endpoints = new ArrayList<>();
            for (String a : new HashSet<>(list)) {
                live.add(a);
                Endpoint known = byAddress.get(a);
                if (known != null) {
                    // listed ready again (possibly a new pod at a reused IP): reconnect now, not
                    // after the transport's backoff from the old pod's failures
                    known.connections().connect();
                }
                Endpoint endpoint = known != null ? known : byAddress.computeIfAbsent(a, this::open);
                endpoint.httpAddress(httpAddresses.get(a));
                endpoints.add(endpoint);
            }
            endpoints.sort((x, y) -> x.address().compareTo(y.address()));
            next.put(key, List.copyOf(endpoints));
        });
        groups = Map.copyOf(next);
        tracks = Map.copyOf(trackLabels);
        for (var it = byAddress.entrySet().iterator(); it.hasNext();) {
            var e = it.next();
            if (!live.contains(e.getKey())) {
                it.remove();
                e.getValue().connections().shutdown();
            }
        }
        LOG.log(System.Logger.Level.INFO, "endpoints: {0}", next);
    }

    private Endpoint open(String address) {
        int colon = address.lastIndexOf(':');
        Connections channels = transport.open(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1)));
        channels.connect();
        return new Endpoint(address, channels);
    }

    public List<Endpoint> endpoints(ModelKey key) {
        return groups.getOrDefault(key, List.of());
    }

    public Map<ModelKey, List<Endpoint>> groups() {
        return groups;
    }

    /** The track label of a group (Kubernetes maas.io/track or the static list), or null. */
    public String trackLabel(ModelKey key) {
        return tracks.get(key);
    }

    /** Versions of a model that have endpoints. */
    public List<String> versions(String model) {
        List<String> out = new ArrayList<>();
        for (ModelKey k : groups.keySet()) {
            if (k.model().equals(model)) {
                out.add(k.version());
            }
        }
        return out;
    }

    /**
     * Power of two choices: two random distinct candidates not yet tried, the one with fewer
     * outstanding requests wins. Ejected endpoints are skipped; ones ramping back after an
     * ejection are taken with a probability equal to their share. Null when none is usable.
     */
    public Endpoint pick(ModelKey key, List<Endpoint> tried) {
        List<Endpoint> all = endpoints(key);
        int n = all.size();
        if (n == 0) {
            return null;
        }
        long now = System.nanoTime();
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        if (n == 1) {
            Endpoint only = all.get(0);
            return tried.contains(only) || only.share(now) == 0 ? null : only;
        }
        Endpoint a = null;
        Endpoint b = null;
        int start = rnd.nextInt(n);
        int step = 1 + rnd.nextInt(n - 1);
        // visit in a random cyclic order; collect the first two usable candidates
        for (int i = 0, idx = start; i < n && b == null; i++) {
            Endpoint e = all.get(idx);
            idx = (idx + (gcd(step, n) == 1 ? step : 1)) % n;
            if (tried.contains(e)) {
                continue;
            }
            double share = e.share(now);
            if (share == 0 || (share < 1 && rnd.nextDouble() > share)) {
                continue;
            }
            if (a == null) {
                a = e;
            } else {
                b = e;
            }
        }
        if (a == null) {
            // everything usable was skipped by the ramp's dice or tried: take any non-ejected, untried one
            for (Endpoint e : all) {
                if (!tried.contains(e) && e.share(now) > 0) {
                    return e;
                }
            }
            return null;
        }
        if (b == null) {
            return a;
        }
        return b.outstanding() < a.outstanding() ? b : a;
    }

    /**
     * Counts a failed call on {@code endpoint} serving {@code key} under the ejection policy; true
     * when it ejects it. Ejection stops at the policy's share of the version's endpoints (never the
     * last one): when every pod fails alike, taking them out only turns their errors into UNAVAILABLE.
     */
    public boolean failure(ModelKey key, Endpoint endpoint) {
        List<Endpoint> group = endpoints(key);
        long now = System.nanoTime();
        int ejected = 0;
        for (Endpoint e : group) {
            if (e != endpoint && e.share(now) == 0) {
                ejected++;
            }
        }
        int allowed = Math.min(group.size() - 1, group.size() * policy.maxEjectedPercent() / 100);
        return endpoint.failure(policy.ejectAfterFailures(), policy.ejectBaseMs(), policy.ejectMaxMs(), policy.rampMs(),
                ejected < allowed);
    }

    private static int gcd(int a, int b) {
        return b == 0 ? a : gcd(b, a % b);
    }

    /** Graceful: in-flight calls on each channel finish, new ones are refused. */
    public synchronized void shutdown(long timeoutMs) {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
        for (Endpoint e : byAddress.values()) {
            e.connections().shutdown();
        }
        for (Endpoint e : byAddress.values()) {
            try {
                e.connections().awaitTermination(deadline);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
        }
        byAddress.clear();
    }
}
