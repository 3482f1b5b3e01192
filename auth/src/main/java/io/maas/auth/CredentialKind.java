package io.maas.auth;

import java.util.Locale;

/** How a caller proved who it is. */
public enum CredentialKind {
    API_KEY, JWT, CERTIFICATE,
    /** Authentication is turned off: every caller is the tenant "anonymous". */
    NONE;

    public String label() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
