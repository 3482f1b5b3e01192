package io.maas.registry.domain;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;

/**
 * Applies the declared routing document. Precedence: the last write wins, and a model's
 * declaration is applied only when its content differs from the one last applied (remembered in
 * the store, so across restarts too). An unchanged ConfigMap therefore never undoes a runtime
 * change such as the router's automatic canary abort; editing the declaration does.
 * Entries that cannot be applied yet (versions not registered) are retried on each reconcile.
 */
public final class DeclarationApplier {

    private static final System.Logger LOG = System.getLogger(DeclarationApplier.class.getName());

    private final Registry registry;
    private final Rollouts rollouts;
    private final String origin;
    private final Set<String> reportedFailures = new HashSet<>();
    private List<DeclaredModel> declared = List.of();

    public DeclarationApplier(Registry registry, String origin) {
        this(registry, null, origin);
    }

    /** @param rollouts runs declared rollouts; null: a declared rollout is refused */
    public DeclarationApplier(Registry registry, Rollouts rollouts, String origin) {
        this.registry = registry;
        this.rollouts = rollouts;
        this.origin = origin;
    }

    public String origin() {
        return origin;
    }

    /** Takes a new version of the document and applies what changed. */
    public synchronized void declare(List<RoutingSpec> specs) {
        declareModels(specs.stream().map(DeclaredModel::of).toList());
    }

    /** Takes a new version of the document (splits and rollouts) and applies what changed. */
    public synchronized void declareModels(List<DeclaredModel> models) {
        declared = List.copyOf(models);
        reconcile();
    }

    /** Applies declared entries whose content was not applied yet; returns how many are still pending. */
    public synchronized int reconcile() {
        int pending = 0;
        for (var model : declared) {
            var spec = model.routing();
            String hash = hash(model);
            if (registry.declaredHash(spec.model()).filter(hash::equals).isPresent()) {
                continue;
            }
            try {
                if (model.hasRollout()) {
                    if (rollouts == null) {
                        throw RegistryException.invalid("model '" + spec.model() + "' declares a rollout, which this registry does not run");
                    }
                    rollouts.declare(spec, model.rollout(), origin, hash);
                    LOG.log(System.Logger.Level.INFO, "rollout of {0} declared in {1}", spec.model(), origin);
                    continue;
                }
                if (rollouts != null) {
                    rollouts.declaredWithoutRollout(spec.model(), origin);
                }
                registry.applyDeclared(spec, origin, hash).ifPresent(e -> LOG.log(System.Logger.Level.INFO,
                        "declared routing of {0} applied from {1} at revision {2}: {3}", e.model(), origin, e.revision(), e.describe()));
            } catch (RegistryException e) {
                pending++;
                // Log each failing content once, not on every reconcile.
                if (reportedFailures.add(spec.model() + "@" + hash)) {
                    LOG.log(System.Logger.Level.WARNING, "declared routing of {0} in {1} not applied (retrying): {2}",
                            spec.model(), origin, e.getMessage());
                }
            }
        }
        return pending;
    }

    static String hash(RoutingSpec spec) {
        return hash(DeclaredModel.of(spec));
    }

    /** A declaration without a rollout hashes as it always did, so an upgrade re-applies nothing. */
    static String hash(DeclaredModel model) {
        var spec = model.routing();
        String content = spec.stable() + "\n" + spec.canary() + "\n" + spec.canaryWeight()
                + (model.hasRollout() ? "\n" + model.rollout().canonical() : "");
        try {
            var digest = MessageDigest.getInstance("SHA-256").digest(content.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
