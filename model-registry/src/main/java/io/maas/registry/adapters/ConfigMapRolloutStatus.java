package io.maas.registry.adapters;

import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.maas.registry.domain.Rollout;
import io.maas.registry.domain.RolloutEvents;
import io.maas.registry.domain.RolloutState;

import java.time.Instant;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Makes rollouts visible from Kubernetes on the routing ConfigMap that declares them: each
 * transition becomes an Event on it ({@code kubectl describe configmap maas-routing}, Warning for
 * an abort) and its annotation {@code maas.io/rollout-<model>} says where the rollout stands.
 * Written from one background thread, so the API server never slows the rollouts; a failed write
 * is logged and dropped (the registry's audit log stays the record).
 */
public final class ConfigMapRolloutStatus implements RolloutEvents, AutoCloseable {

    private static final System.Logger LOG = System.getLogger(ConfigMapRolloutStatus.class.getName());
    public static final String ANNOTATION_PREFIX = "maas.io/rollout-";

    private final KubernetesClient client;
    private final String namespace;
    private final String name;
    private final ExecutorService writer = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(1000),
            r -> {
                var t = new Thread(r, "maas-rollout-k8s-status");
                t.setDaemon(true);
                return t;
            }, new ThreadPoolExecutor.DiscardOldestPolicy());

    public ConfigMapRolloutStatus(KubernetesClient client, String namespace, String name) {
        this.client = client;
        this.namespace = namespace;
        this.name = name;
    }

    @Override
    public void transition(Rollout r, String action, String reason) {
        // Promoted, the canary weight is 0 because the candidate is stable now: say that, not "weight 0%".
        String standing = r.state() == RolloutState.PROMOTED
                ? String.format(Locale.ROOT, "candidate %s is now stable (was %s)", r.candidate(), r.stable())
                : String.format(Locale.ROOT, "weight %d%% candidate %s stable %s", r.weight(), r.candidate(), r.stable());
        String status = String.format(Locale.ROOT, "%s step %d/%d %s: %s", r.state(), r.step() + 1,
                r.plan().steps().size(), standing, truncate(r.note(), 400));
        String message = truncate(r.model() + ": " + reason, 1000);
        boolean warning = r.state() == RolloutState.ABORTED;
        writer.execute(() -> write(r.model(), action, status, message, warning));
    }

    private void write(String model, String action, String status, String message, boolean warning) {
        try {
            var cm = client.configMaps().inNamespace(namespace).withName(name).get();
            if (cm == null) {
                return;
            }
            String now = Instant.now().toString();
            client.v1().events().inNamespace(namespace).resource(new EventBuilder()
                    .withNewMetadata().withGenerateName(name + ".rollout-").withNamespace(namespace).endMetadata()
                    .withNewInvolvedObject().withApiVersion("v1").withKind("ConfigMap").withName(name).withNamespace(namespace)
                    .withUid(cm.getMetadata().getUid()).endInvolvedObject()
                    .withReason(action).withMessage(message).withType(warning ? "Warning" : "Normal")
                    .withNewSource().withComponent("maas-registry").endSource()
                    .withFirstTimestamp(now).withLastTimestamp(now).withCount(1).build()).create();
            client.configMaps().inNamespace(namespace).withName(name).edit(c -> {
                if (c.getMetadata().getAnnotations() == null) {
                    c.getMetadata().setAnnotations(new java.util.LinkedHashMap<>());
                }
                c.getMetadata().getAnnotations().put(ANNOTATION_PREFIX + model, status);
                return c;
            });
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "rollout status of {0} not written to ConfigMap {1}/{2}: {3}", model, namespace, name,
                    e.getMessage());
        }
    }

    private static String truncate(String s, int max) {
        return s == null ? "" : s.length() <= max ? s : s.substring(0, max - 1) + "…";
    }

    @Override
    public void close() {
        writer.shutdownNow();
    }
}
