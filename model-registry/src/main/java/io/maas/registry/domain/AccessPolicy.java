package io.maas.registry.domain;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;
import java.util.Optional;

/**
 * Who may call what. With tokens configured, writes need a writer or admin token and reads are
 * open unless {@code readsRequireAuth}. Without tokens (local dev mode) every caller is
 * "anonymous" with full rights.
 */
public final class AccessPolicy {

    /** One line of the tokens file: {@code subject:role:token}. */
    public record Credential(String subject, Role role, String token) {
    }

    private final List<Credential> credentials;
    private final boolean devMode;
    private final boolean readsRequireAuth;

    private AccessPolicy(List<Credential> credentials, boolean devMode, boolean readsRequireAuth) {
        this.credentials = List.copyOf(credentials);
        this.devMode = devMode;
        this.readsRequireAuth = readsRequireAuth;
    }

    public static AccessPolicy devMode() {
        return new AccessPolicy(List.of(), true, false);
    }

    public static AccessPolicy tokens(List<Credential> credentials, boolean readsRequireAuth) {
        return new AccessPolicy(credentials, false, readsRequireAuth);
    }

    public boolean isDevMode() {
        return devMode;
    }

    /** @param bearerToken the token of an {@code authorization: Bearer <token>} header, if sent */
    public Actor authorize(Optional<String> bearerToken, boolean write) {
        if (devMode) {
            return Actor.ANONYMOUS_DEV;
        }
        if (bearerToken.isEmpty()) {
            if (!write && !readsRequireAuth) {
                return Actor.ANONYMOUS_READER;
            }
            throw new RegistryException(RegistryException.Kind.UNAUTHENTICATED, (write ? "writes" : "reads")
                    + " need a token: send metadata 'authorization: Bearer <token>' (maasctl --token or MAAS_REGISTRY_TOKEN)");
        }
        var actor = lookup(bearerToken.get()).orElseThrow(() -> new RegistryException(RegistryException.Kind.UNAUTHENTICATED,
                "unknown token: use a token listed in the registry's tokens file"));
        if (write && !actor.role().mayWrite()) {
            throw new RegistryException(RegistryException.Kind.PERMISSION_DENIED, "'" + actor.subject()
                    + "' has role reader: writes need role writer or admin");
        }
        return actor;
    }

    private Optional<Actor> lookup(String token) {
        byte[] presented = token.getBytes(StandardCharsets.UTF_8);
        Actor found = null;
        // Compare against every credential in constant time, so timing does not reveal a prefix.
        for (var c : credentials) {
            if (MessageDigest.isEqual(presented, c.token().getBytes(StandardCharsets.UTF_8))) {
                found = new Actor(c.subject(), c.role());
            }
        }
        return Optional.ofNullable(found);
    }
}
