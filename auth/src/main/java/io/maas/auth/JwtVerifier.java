package io.maas.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.util.Arrays;
import java.util.Base64;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Verifies JWTs (RFC 7519, compact JWS) from one OIDC issuer: the signature against the issuer's
 * keys (RS256/384/512, ES256/384), then {@code iss}, {@code aud}, {@code exp} and {@code nbf}; the
 * tenant is a configured claim ({@code sub} by default; for Kubernetes ServiceAccount tokens that
 * is {@code system:serviceaccount:<namespace>:<name>}). A verified token is cached until it
 * expires, so a client reusing its token pays a map lookup, not a signature check.
 */
public final class JwtVerifier {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CACHE_MAX = 10_000;
    private static final long LEEWAY_SECONDS = 30;

    private final String issuer;
    private final Set<String> audiences;
    private final String tenantClaim;
    private final JwksSource keys;
    private final LongSupplier epochSeconds;
    private final ConcurrentHashMap<String, Verified> cache = new ConcurrentHashMap<>();

    private record Verified(String tenant, long exp) {
    }

    public JwtVerifier(String issuer, Set<String> audiences, String tenantClaim, JwksSource keys) {
        this(issuer, audiences, tenantClaim, keys, () -> System.currentTimeMillis() / 1000);
    }

    JwtVerifier(String issuer, Set<String> audiences, String tenantClaim, JwksSource keys, LongSupplier epochSeconds) {
        if (issuer == null || issuer.isBlank()) {
            throw new IllegalArgumentException("JWT authentication needs the issuer (MAAS_AUTH_JWT_ISSUER)");
        }
        if (audiences.isEmpty()) {
            // without an audience a token minted for any other service of the issuer would do
            throw new IllegalArgumentException("JWT authentication needs an audience (MAAS_AUTH_JWT_AUDIENCE)");
        }
        this.issuer = issuer;
        this.audiences = Set.copyOf(audiences);
        this.tenantClaim = tenantClaim == null || tenantClaim.isBlank() ? "sub" : tenantClaim;
        this.keys = keys;
        this.epochSeconds = epochSeconds;
    }

    /** Whether the bearer value looks like a JWT (three base64url parts) rather than an API key. */
    public static boolean looksLikeJwt(String token) {
        int first = token.indexOf('.');
        return first > 0 && token.indexOf('.', first + 1) > first + 1 && token.startsWith("eyJ");
    }

    /** The caller the token proves, or an UNAUTHENTICATED refusal saying what is wrong with it. */
    public Caller verify(String token) {
        long now = epochSeconds.getAsLong();
        Verified hit = cache.get(token);
        if (hit != null) {
            if (now <= hit.exp + LEEWAY_SECONDS) {
                return new Caller(hit.tenant, CredentialKind.JWT);
            }
            cache.remove(token);
            throw refused("expired", "the JWT expired: get a fresh token");
        }
        Verified v = check(token, now);
        if (cache.size() >= CACHE_MAX) {
            cache.clear(); // crude but bounded; a burst of distinct tokens costs re-verification only
        }
        cache.put(token, v);
        return new Caller(v.tenant, CredentialKind.JWT);
    }

    private Verified check(String token, long now) {
        String[] parts = token.split("\\.", -1);
        if (parts.length != 3) {
            throw refused("bad-jwt", "the bearer token is not a JWT (header.payload.signature)");
        }
        JsonNode header = json(parts[0], "header");
        JsonNode claims = json(parts[1], "payload");
        String alg = header.path("alg").asText("");
        String javaAlg = switch (alg) {
            case "RS256" -> "SHA256withRSA";
            case "RS384" -> "SHA384withRSA";
            case "RS512" -> "SHA512withRSA";
            case "ES256" -> "SHA256withECDSA";
            case "ES384" -> "SHA384withECDSA";
            default -> throw refused("bad-jwt", "JWT algorithm '" + alg + "' is not accepted (RS256/384/512, ES256/384)");
        };
        PublicKey key = keys.key(header.path("kid").asText(null));
        if (key == null) {
            String why = keys.unavailableReason();
            throw refused("unknown-key", why != null ? "cannot verify the JWT: " + why
                    : "the JWT is signed with key '" + header.path("kid").asText("") + "', which the issuer's key set does not have");
        }
        boolean ec = alg.startsWith("ES");
        if (ec != (key instanceof ECPublicKey) || !ec && !(key instanceof RSAPublicKey)) {
            throw refused("bad-signature", "the JWT's algorithm " + alg + " does not match its key type");
        }
        try {
            Signature sig = Signature.getInstance(javaAlg);
            sig.initVerify(key);
            sig.update((parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII));
            byte[] s = Base64.getUrlDecoder().decode(parts[2]);
            if (!sig.verify(ec ? der(s) : s)) {
                throw refused("bad-signature", "the JWT's signature does not verify against the issuer's keys");
            }
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            throw refused("bad-signature", "the JWT's signature cannot be verified: " + e.getMessage());
        }
        if (!issuer.equals(claims.path("iss").asText(null))) {
            throw refused("wrong-issuer", "the JWT was issued by '" + claims.path("iss").asText("") + "', not by '" + issuer + "'");
        }
        JsonNode aud = claims.path("aud");
        boolean audOk = aud.isArray() ? stream(aud).map(JsonNode::asText).anyMatch(audiences::contains) : audiences.contains(aud.asText(""));
        if (!audOk) {
            throw refused("wrong-audience", "the JWT is for audience " + aud + ", this router accepts " + audiences
                    + ": request a token for that audience");
        }
        if (!claims.path("exp").canConvertToLong()) {
            throw refused("bad-jwt", "the JWT has no expiry (exp): tokens without one are not accepted");
        }
        long exp = claims.path("exp").asLong();
        if (now > exp + LEEWAY_SECONDS) {
            throw refused("expired", "the JWT expired: get a fresh token");
        }
        if (claims.path("nbf").canConvertToLong() && now + LEEWAY_SECONDS < claims.path("nbf").asLong()) {
            throw refused("not-yet-valid", "the JWT is not valid yet (nbf)");
        }
        String tenant = claims.path(tenantClaim).asText("");
        if (tenant.isEmpty()) {
            throw refused("no-tenant", "the JWT has no '" + tenantClaim + "' claim, which names the tenant");
        }
        return new Verified(tenant, exp);
    }

    private static java.util.stream.Stream<JsonNode> stream(JsonNode array) {
        return java.util.stream.StreamSupport.stream(array.spliterator(), false);
    }

    private static JsonNode json(String part, String what) {
        try {
            return JSON.readTree(Base64.getUrlDecoder().decode(part));
        } catch (IOException | IllegalArgumentException e) {
            throw refused("bad-jwt", "the JWT's " + what + " is not base64url JSON");
        }
    }

    /** JWS carries ECDSA signatures as R||S; Java verifies ASN.1 DER. */
    private static byte[] der(byte[] rs) {
        if (rs.length == 0 || rs.length % 2 != 0) {
            throw new IllegalArgumentException("ECDSA signature has odd length");
        }
        int n = rs.length / 2;
        byte[] r = new BigInteger(1, Arrays.copyOfRange(rs, 0, n)).toByteArray();
        byte[] s = new BigInteger(1, Arrays.copyOfRange(rs, n, rs.length)).toByteArray();
        int len = 2 + r.length + 2 + s.length;
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(len + 3);
        out.write(0x30);
        if (len > 127) {
            out.write(0x81);
        }
        out.write(len);
        out.write(0x02);
        out.write(r.length);
        out.write(r, 0, r.length);
        out.write(0x02);
        out.write(s.length);
        out.write(s, 0, s.length);
        return out.toByteArray();
    }

    private static AuthException refused(String reason, String message) {
        return new AuthException(AuthException.Kind.UNAUTHENTICATED, reason, message);
    }
}
