package io.maas.router.adapters;

import io.maas.router.domain.EndpointPool;
import io.maas.router.domain.ModelKey;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;

/**
 * Inference pods from EndpointSlices labelled {@code app.kubernetes.io/component: inference},
 * {@code maas.io/model}, {@code maas.io/version}, {@code maas.io/track}: a fabric8 informer
 * (one list, then a watch) keeps every slice; on each change the pool gets the ready endpoints'
 * addresses on the port named {@code grpc}.
 */
public final class KubernetesEndpoints {

    private static final System.Logger LOG = System.getLogger(KubernetesEndpoints.class.getName());
    public static final String COMPONENT = "app.kubernetes.io/component";
    public static final String MODEL = "maas.io/model";
    public static final String VERSION = "maas.io/version";
    public static final String TRACK = "maas.io/track";

    private final KubernetesClient client;
    private final String namespace;
    private final EndpointPool pool;
    private final Map<String, EndpointSlice> slices = new ConcurrentHashMap<>();
    private SharedIndexInformer<EndpointSlice> informer;

    public KubernetesEndpoints(KubernetesClient client, String namespace, EndpointPool pool) {
        this.client = client;
        this.namespace = namespace;
        this.pool = pool;
    }

    public void start() {
        String ns = namespace != null ? namespace : client.getNamespace();
        LOG.log(System.Logger.Level.INFO, "watching inference EndpointSlices in namespace {0}", ns);
        informer = client.discovery().v1().endpointSlices().inNamespace(ns).withLabel(COMPONENT, "inference")
                .inform(new ResourceEventHandler<>() {
                    @Override
                    public void onAdd(EndpointSlice s) {
                        slices.put(s.getMetadata().getName(), s);
                        publish();
                    }

                    @Override
                    public void onUpdate(EndpointSlice old, EndpointSlice s) {
                        slices.put(s.getMetadata().getName(), s);
                        publish();
                    }

                    @Override
                    public void onDelete(EndpointSlice s, boolean unknownFinalState) {
                        slices.remove(s.getMetadata().getName());
                        publish();
                    }
                });
    }

    public void stop() {
        if (informer != null) {
            informer.close();
        }
    }

    private synchronized void publish() {
        Map<ModelKey, List<String>> addresses = new HashMap<>();
        Map<ModelKey, String> tracks = new HashMap<>();
        Map<String, String> http = new HashMap<>();
        for (EndpointSlice s : slices.values()) {
            Map<String, String> labels = s.getMetadata().getLabels();
            if (labels == null || labels.get(MODEL) == null || labels.get(VERSION) == null) {
                continue;
            }
            ModelKey key = new ModelKey(labels.get(MODEL), labels.get(VERSION));
            if (labels.get(TRACK) != null) {
                tracks.put(key, labels.get(TRACK));
            }
            List<String> list = addresses.computeIfAbsent(key, k -> new ArrayList<>());
            Integer port = null;
            Integer httpPort = null;
            if (s.getPorts() != null) {
                for (EndpointPort p : s.getPorts()) {
                    if ("grpc".equals(p.getName())) {
                        port = p.getPort();
                    } else if ("http".equals(p.getName())) {
                        httpPort = p.getPort();
                    }
                }
            }
            if (port == null || s.getEndpoints() == null) {
                continue;
            }
            for (var e : s.getEndpoints()) {
                // Kubernetes: a missing ready condition means ready; terminating endpoints are not ready.
                boolean ready = e.getConditions() == null || e.getConditions().getReady() == null
                        || e.getConditions().getReady();
                if (!ready || e.getAddresses() == null) {
                    continue;
                }
                for (String a : e.getAddresses()) {
                    String host = a.contains(":") ? "[" + a + "]" : a;
                    list.add(host + ":" + port);
                    if (httpPort != null) {
                        http.put(host + ":" + port, host + ":" + httpPort);
                    }
                }
            }
        }
        pool.update(addresses, tracks, http);
    }
}
