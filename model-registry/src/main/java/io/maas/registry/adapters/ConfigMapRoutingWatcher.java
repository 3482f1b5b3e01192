package io.maas.registry.adapters;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.maas.registry.domain.DeclarationApplier;
import io.maas.registry.domain.RegistryException;

import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Watches the declared-routing ConfigMap (key {@code routing.yaml}) through a fabric8 informer,
 * so an edited Helm release reaches the registry within seconds, without a restart. Deleting
 * the ConfigMap leaves routing as it is.
 */
public final class ConfigMapRoutingWatcher implements AutoCloseable {

    public static final String KEY = "routing.yaml";
    private static final System.Logger LOG = System.getLogger(ConfigMapRoutingWatcher.class.getName());

    private final KubernetesClient client;
    private final String namespace;
    private final String name;
    private final DeclarationApplier applier;
    private final ScheduledExecutorService reconciler = Executors.newSingleThreadScheduledExecutor(r -> {
        var t = new Thread(r, "maas-routing-configmap-reconciler");
        t.setDaemon(true);
        return t;
    });
    private SharedIndexInformer<ConfigMap> informer;
    private String lastContent;

    public ConfigMapRoutingWatcher(KubernetesClient client, String namespace, String name, DeclarationApplier applier) {
        this.client = client;
        this.namespace = namespace;
        this.name = name;
        this.applier = applier;
    }

    public void start() {
        LOG.log(System.Logger.Level.INFO, "watching declared routing ConfigMap {0}/{1} key {2}", namespace, name, KEY);
        informer = client.configMaps().inNamespace(namespace).withName(name).inform(new ResourceEventHandler<>() {
            @Override
            public void onAdd(ConfigMap cm) {
                accept(cm);
            }

            @Override
            public void onUpdate(ConfigMap oldCm, ConfigMap newCm) {
                accept(newCm);
            }

            @Override
            public void onDelete(ConfigMap cm, boolean deletedFinalStateUnknown) {
                LOG.log(System.Logger.Level.WARNING, "declared routing ConfigMap {0}/{1} deleted: routing stays as it is", namespace, name);
            }
        }, TimeUnit.MINUTES.toMillis(5));
        // Retries declared entries that could not be applied yet (e.g. versions registered later).
        reconciler.scheduleWithFixedDelay(this::reconcile, 5, 5, TimeUnit.SECONDS);
    }

    private synchronized void accept(ConfigMap cm) {
        String content = cm.getData() == null ? null : cm.getData().get(KEY);
        if (content == null) {
            LOG.log(System.Logger.Level.WARNING, "ConfigMap {0}/{1} has no key {2}: nothing declared", namespace, name, KEY);
            return;
        }
        if (Objects.equals(content, lastContent)) {
            return;
        }
        lastContent = content;
        try {
            applier.declareModels(DeclaredRoutingDocument.parseModels(content, applier.origin()));
        } catch (RegistryException e) {
            LOG.log(System.Logger.Level.WARNING, "declared routing in ConfigMap {0}/{1} not applied: {2}", namespace, name, e.getMessage());
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "applying declared routing from ConfigMap " + namespace + "/" + name + " failed", e);
        }
    }

    private void reconcile() {
        try {
            applier.reconcile();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "declared routing reconcile failed; retrying", e);
        }
    }

    @Override
    public void close() {
        reconciler.shutdownNow();
        if (informer != null) {
            informer.close();
        }
    }
}
