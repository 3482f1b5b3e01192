package io.maas.registry.domain;

/** Lifecycle of a version. Archived versions may no longer be named by routing. */
public enum Stage { CANDIDATE, STABLE, ARCHIVED }
