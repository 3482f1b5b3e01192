package io.maas.registry.domain;

import io.maas.auth.ApiKeys;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Who may call what. With credentials configured, writes need a writer or admin subject and reads
 * are open unless {@code readsRequireAuth}. A caller is identified by a bearer token or by a
 * subject the transport already verified (a client certificate); without credentials (local dev
 * mode) every caller is "anonymous" with full rights.
 */
public final class AccessPolicy {

    /** One line of the tokens file: {@code subject:role:token}; no token = the subject may only use a certificate. */
    public record Credential(String subject, Role role, Optional<String> token) {
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

    /**
     * @param verifiedSubject the subject of a credential the transport verified (a client certificate), if any
     * @param bearerToken     the token of an {@code authorization: Bearer <token>} header, if sent
     */
    public Actor authorize(Optional<String> verifiedSubject, Optional<String> bearerToken, boolean write) {
        if (devMode) {
            return Actor.ANONYMOUS_DEV;
        }
        Optional<Actor> byToken = bearerToken.map(t -> lookup(t).orElseThrow(() -> new RegistryException(
                RegistryException.Kind.UNAUTHENTICATED, "unknown token: use a token listed in the registry's tokens file")));
        Optional<Actor> bySubject = verifiedSubject.map(this::subject);
        if (byToken.isPresent() && bySubject.isPresent() && !byToken.get().subject().equals(bySubject.get().subject())) {
            // Two credentials naming different callers: acting as either could be the wrong attribution.
            throw new RegistryException(RegistryException.Kind.UNAUTHENTICATED, "the bearer token belongs to '"
                    + byToken.get().subject() + "' but the client certificate to '" + bySubject.get().subject()
                    + "': send one subject's credentials (drop the token or use that subject's certificate)");
        }
        // Same subject on both: the token's line decides the role, as it would without the certificate.
        var actor = byToken.or(() -> bySubject);
        if (actor.isEmpty()) {
            if (!write && !readsRequireAuth) {
                return Actor.ANONYMOUS_READER;
            }
            throw new RegistryException(RegistryException.Kind.UNAUTHENTICATED, (write ? "writes" : "reads")
                    + " need a token: send metadata 'authorization: Bearer <token>' (maasctl --token or MAAS_REGISTRY_TOKEN)"
                    + " or a client certificate the registry trusts (maasctl --cert/--key)");
        }
        if (write && !actor.get().role().mayWrite()) {
            throw new RegistryException(RegistryException.Kind.PERMISSION_DENIED, "'" + actor.get().subject()
                    + "' has role reader: writes need role writer or admin");
        }
        return actor.get();
    }

    /**
     * The actor of a verified subject. The transport proved who the caller is, so an unlisted subject
     * is a missing grant (PERMISSION_DENIED), not a bad credential. A subject listed with several
     * roles gets the least of them, so a certificate never grants more than any of its lines.
     */
    private Actor subject(String subject) {
        return credentials.stream().filter(c -> c.subject().equals(subject)).map(Credential::role)
                .min(Comparator.naturalOrder()).map(role -> new Actor(subject, role))
                .orElseThrow(() -> new RegistryException(RegistryException.Kind.PERMISSION_DENIED, "client certificate subject '"
                        + subject + "' is not listed in the registry's tokens file: add a line '" + subject + ":<role>:'"));
    }

    private Optional<Actor> lookup(String token) {
        byte[] presented = token.getBytes(StandardCharsets.UTF_8);
        byte[] hashed = (HASHED + ApiKeys.hash(token)).getBytes(StandardCharsets.UTF_8);
        Actor found = null;
        // Compare against every credential in constant time, so timing does not reveal a prefix. A
        // token stored as sha256:<hex> (as the router's API keys are) is compared by its hash.
        for (var c : credentials) {
            if (c.token().isPresent()) {
                String stored = c.token().get();
                byte[] candidate = stored.startsWith(HASHED) ? hashed : presented;
                if (MessageDigest.isEqual(candidate, stored.getBytes(StandardCharsets.UTF_8))) {
                    found = new Actor(c.subject(), c.role());
                }
            }
        }
        return Optional.ofNullable(found);
    }

    private static final String HASHED = "sha256:";
}
