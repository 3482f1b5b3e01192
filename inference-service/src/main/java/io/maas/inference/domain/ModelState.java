package io.maas.inference.domain;

/** Lifecycle of a model version, as the repository index reports it. */
public enum ModelState {
    LOADING, READY, UNAVAILABLE, UNLOADING
}
