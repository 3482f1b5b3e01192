package io.maas.registry.domain;

/** What a caller may do: readers read, writers and admins also write. */
public enum Role {
    READER, WRITER, ADMIN;

    public boolean mayWrite() {
        return this != READER;
    }
}
