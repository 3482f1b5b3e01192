package io.maas.auth;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * How a service authenticates and authorizes its callers, as its configuration states it; each
 * service maps its own properties (MAAS_AUTH_*) onto this and builds its {@link FrontDoor} here,
 * so the router and the pods read the same settings the same way.
 *
 * @param enabled       false: every caller is {@link Caller#ANONYMOUS}, nothing else is read
 * @param apiKeysFile   the API keys file (hashes), or null
 * @param policyFile    the tenant policy, or null for {@link TenantPolicy#allowAll()}
 * @param reloadMillis  how often the keys, policy and JWKS files are checked for changes
 * @param jwtIssuer     the accepted issuer ({@code iss}), or null when JWTs are not accepted
 * @param jwtAudiences  accepted audiences ({@code aud})
 * @param tenantClaim   the claim naming the tenant ({@code sub} by default)
 * @param jwks          the issuer's keys: a file path, or an http(s) URL
 * @param jwksCa        PEM CA bundle for an https JWKS URL, or null
 * @param jwksTokenFile bearer token file sent when fetching the JWKS URL, or null
 * @param certificates  "off", "cn" or "uri-san": whether and how a verified client certificate names the tenant
 */
public record AuthSettings(boolean enabled, Path apiKeysFile, Path policyFile, long reloadMillis, String jwtIssuer,
                           List<String> jwtAudiences, String tenantClaim, String jwks, Path jwksCa, Path jwksTokenFile,
                           String certificates) {

    /** {@code jwks} value for the cluster the service runs in: its API server's keys, fetched as the pod's ServiceAccount. */
    public static final String KUBERNETES = "kubernetes";
    private static final Path SERVICE_ACCOUNT = Path.of("/var/run/secrets/kubernetes.io/serviceaccount");

    private JwksSource kubernetesJwks() {
        String host = System.getenv("KUBERNETES_SERVICE_HOST");
        String port = System.getenv("KUBERNETES_SERVICE_PORT");
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("MAAS_AUTH_JWT_JWKS=kubernetes needs to run in a pod (KUBERNETES_SERVICE_HOST is not set): "
                    + "give the issuer's JWKS URL or file instead");
        }
        String h = host.contains(":") ? "[" + host + "]" : host;
        return JwksSource.url(URI.create("https://" + h + ":" + (port == null ? "443" : port) + "/openid/v1/jwks"),
                jwksCa != null ? jwksCa : SERVICE_ACCOUNT.resolve("ca.crt"),
                jwksTokenFile != null ? jwksTokenFile : SERVICE_ACCOUNT.resolve("token"), Duration.ofMinutes(5));
    }

    public static final AuthSettings OFF = new AuthSettings(false, null, null, 5000, null, List.of(), "sub", null, null,
            null, "off");

    /** Builds the front door these settings describe; a file that is missing or wrong fails here, at start. */
    public FrontDoor frontDoor(FrontDoor.Events events) {
        if (!enabled) {
            return new FrontDoor(null, null, new Quotas(), events);
        }
        Reloading<ApiKeys> keys = apiKeysFile == null ? null : new Reloading<>(apiKeysFile, ApiKeys::parse, reloadMillis);
        JwtVerifier jwt = null;
        if (jwtIssuer != null && !jwtIssuer.isBlank()) {
            if (jwks == null || jwks.isBlank()) {
                throw new IllegalArgumentException("JWT authentication needs the issuer's keys: MAAS_AUTH_JWT_JWKS (a file or an https URL)");
            }
            JwksSource source;
            if (jwks.equals(KUBERNETES)) {
                source = kubernetesJwks();
            } else if (jwks.startsWith("http://") || jwks.startsWith("https://")) {
                source = JwksSource.url(URI.create(jwks), jwksCa, jwksTokenFile, Duration.ofMinutes(5));
            } else {
                source = JwksSource.file(Path.of(jwks), reloadMillis);
            }
            jwt = new JwtVerifier(jwtIssuer, Set.copyOf(jwtAudiences), tenantClaim, source);
        }
        CertificateIdentity certs = certificates == null || certificates.isBlank() || certificates.equalsIgnoreCase("off")
                ? null : CertificateIdentity.of(certificates);
        Reloading<TenantPolicy> policy = policyFile == null ? null : new Reloading<>(policyFile, TenantPolicy::parse, reloadMillis);
        return new FrontDoor(new Authenticator(keys, jwt, certs), policy, new Quotas(), events);
    }
}
