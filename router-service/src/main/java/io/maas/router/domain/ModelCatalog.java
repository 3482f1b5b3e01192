package io.maas.router.domain;

import java.util.Set;

/** The registry's catalog as last read: which models and versions exist, registered or not yet routed. */
public interface ModelCatalog {

    /** Without a registry: nothing beyond the routing table and the pods. */
    ModelCatalog NONE = new ModelCatalog() {
        @Override
        public Set<String> models() {
            return Set.of();
        }

        @Override
        public Set<String> versions(String model) {
            return Set.of();
        }
    };

    Set<String> models();

    /** The model's registered versions; empty when unknown. */
    Set<String> versions(String model);
}
