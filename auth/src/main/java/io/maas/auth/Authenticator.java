package io.maas.auth;

import java.util.ArrayList;
import java.util.List;

/**
 * Who is calling, from whatever credentials the call carries: an API key ({@code x-api-key} or
 * {@code authorization: Bearer}), a JWT ({@code authorization: Bearer}) or a verified client
 * certificate, each accepted when configured. A credential that is presented but wrong is refused
 * even when another would pass, so a revoked key never silently falls back to a weaker identity.
 */
public final class Authenticator {

    private final Reloading<ApiKeys> apiKeys;
    private final JwtVerifier jwt;
    private final CertificateIdentity certificates;
    private final String accepted;

    /**
     * @param apiKeys      the API keys file, or null when keys are not accepted
     * @param jwt          the JWT verifier, or null when JWTs are not accepted
     * @param certificates how a client certificate names the caller, or null when certificates are not accepted
     */
    public Authenticator(Reloading<ApiKeys> apiKeys, JwtVerifier jwt, CertificateIdentity certificates) {
        this.apiKeys = apiKeys;
        this.jwt = jwt;
        this.certificates = certificates;
        List<String> kinds = new ArrayList<>();
        if (apiKeys != null) {
            kinds.add("an API key (metadata 'x-api-key: <key>' or 'authorization: Bearer <key>')");
        }
        if (jwt != null) {
            kinds.add("a JWT ('authorization: Bearer <jwt>')");
        }
        if (certificates != null) {
            kinds.add("a client certificate signed by the configured CA");
        }
        if (kinds.isEmpty()) {
            throw new IllegalArgumentException("authentication is on but accepts no credential: configure API keys, JWT or client certificates");
        }
        this.accepted = String.join(" or ", kinds);
    }

    /** Which credentials are accepted, in words a caller can act on. */
    public String accepted() {
        return accepted;
    }

    public Caller authenticate(Presented presented) {
        String bearer = presented.bearer();
        if (bearer != null && bearer.isEmpty()) {
            throw new AuthException(AuthException.Kind.UNAUTHENTICATED, "bad-header",
                    "the authorization header is not 'Bearer <credential>'; send " + accepted);
        }
        Caller byBearer = null;
        if (bearer != null) {
            if (jwt != null && JwtVerifier.looksLikeJwt(bearer)) {
                byBearer = jwt.verify(bearer);
            } else if (apiKeys != null) {
                byBearer = key(bearer);
            } else {
                throw new AuthException(AuthException.Kind.UNAUTHENTICATED, "bad-jwt",
                        "the bearer credential is not a JWT; send " + accepted);
            }
        }
        Caller byKey = null;
        if (presented.apiKey() != null && !presented.apiKey().isBlank()) {
            if (apiKeys == null) {
                throw new AuthException(AuthException.Kind.UNAUTHENTICATED, "keys-not-accepted",
                        "API keys are not accepted here; send " + accepted);
            }
            byKey = key(presented.apiKey().strip());
        }
        Caller byCertificate = null;
        if (presented.certificate() != null && certificates != null) {
            byCertificate = new Caller(certificates.of(presented.certificate()), CredentialKind.CERTIFICATE);
        }
        Caller caller = null;
        for (Caller c : new Caller[] {byBearer, byKey, byCertificate}) {
            if (c == null) {
                continue;
            }
            if (caller != null && !caller.tenant().equals(c.tenant())) {
                // two credentials naming different tenants: acting as either could be the wrong attribution
                throw new AuthException(AuthException.Kind.UNAUTHENTICATED, "conflicting-credentials",
                        "the credentials on this call name different tenants ('" + caller.tenant() + "' and '"
                        + c.tenant() + "'): send one tenant's credentials");
            }
            if (caller == null) {
                caller = c;
            }
        }
        if (caller == null) {
            throw new AuthException(AuthException.Kind.UNAUTHENTICATED, "missing-credentials",
                    "this call carries no credentials; send " + accepted);
        }
        return caller;
    }

    private Caller key(String key) {
        return apiKeys.get().tenant(key).map(t -> new Caller(t, CredentialKind.API_KEY))
                .orElseThrow(() -> new AuthException(AuthException.Kind.UNAUTHENTICATED, "unknown-key",
                        "the API key is not valid (unknown or revoked): ask the platform team for a key"));
    }
}
