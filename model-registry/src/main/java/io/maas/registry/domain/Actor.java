package io.maas.registry.domain;

/** Who performs an operation; recorded in the audit log and on routing entries. */
public record Actor(String subject, Role role) {
    public static final Actor ANONYMOUS_DEV = new Actor("anonymous", Role.ADMIN);
    public static final Actor ANONYMOUS_READER = new Actor("anonymous", Role.READER);

    public static Actor declared(String origin) {
        return new Actor("declared:" + origin, Role.ADMIN);
    }
}
