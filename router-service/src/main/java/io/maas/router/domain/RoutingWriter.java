package io.maas.router.domain;

/** Where the router writes routing changes of its own: the registry (adapters/RegistryWatcher). */
public interface RoutingWriter {

    /**
     * Sets the route's canary weight to 0 with {@code reason}, only if the route is still at the
     * revision it was judged at. Returns the new revision; throws when the write is refused or fails.
     */
    long abortCanary(Route route, String reason);
}
