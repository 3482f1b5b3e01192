package io.maas.registry.domain;

/** Where a routing change came from: the declared document (Helm/ConfigMap/file) or an API call. */
public enum RoutingSource { DECLARED, RUNTIME }
