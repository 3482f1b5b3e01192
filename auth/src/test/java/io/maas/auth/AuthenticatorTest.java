package io.maas.auth;

import io.maas.testsupport.JwtIssuer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AuthenticatorTest {
    private static final String ISS = "https://issuer.test";

    @TempDir
    Path dir;

    private Reloading<ApiKeys> keys(String content, AtomicLong clock) throws IOException {
        Path f = dir.resolve("keys");
        Files.writeString(f, content);
        return new Reloading<>(f, ApiKeys::parse, 1000, clock::get);
    }

    private static AuthException refused(Runnable r) {
        return assertThrows(AuthException.class, r::run);
    }

    @Test
    void apiKeysAreStoredAsHashesAndRevokedByReload() throws IOException {
        AtomicLong clock = new AtomicLong();
        var keys = keys("# team keys\nsearch:sha256:" + ApiKeys.hash("k-search") + "\nads:sha256:" + ApiKeys.hash("k-ads") + "\n", clock);
        var auth = new Authenticator(keys, null, null);
        assertEquals(new Caller("search", CredentialKind.API_KEY), auth.authenticate(new Presented("Bearer k-search", null, null)));
        assertEquals("ads", auth.authenticate(new Presented(null, "k-ads", null)).tenant());
        AuthException e = refused(() -> auth.authenticate(new Presented(null, "k-wrong", null)));
        assertEquals("unknown-key", e.reason());
        assertFalse(e.getMessage().contains("k-wrong"), "a refusal never echoes the key");
        e = refused(() -> auth.authenticate(new Presented(null, null, null)));
        assertEquals(AuthException.Kind.UNAUTHENTICATED, e.kind());
        assertTrue(e.getMessage().contains("x-api-key"), e.getMessage());

        Files.writeString(keys.file(), "search:sha256:" + ApiKeys.hash("k-search") + "\n");
        assertEquals("ads", auth.authenticate(new Presented(null, "k-ads", null)).tenant(), "not re-read before the interval");
        clock.addAndGet(1_000_000_000L);
        assertEquals("unknown-key", refused(() -> auth.authenticate(new Presented(null, "k-ads", null))).reason());

        Files.writeString(keys.file(), "garbage line\n");
        clock.addAndGet(1_000_000_000L);
        assertEquals("search", auth.authenticate(new Presented("Bearer k-search", null, null)).tenant(),
                "a rewrite that does not parse keeps the keys in force");
    }

    @Test
    void keysFileRefusesPlainKeysAndDuplicates() {
        var e = assertThrows(IllegalArgumentException.class, () -> ApiKeys.parse(dir, "search:my-secret-key\n".getBytes()));
        assertTrue(e.getMessage().contains("sha256"), e.getMessage());
        String h = ApiKeys.hash("x");
        assertThrows(IllegalArgumentException.class, () -> ApiKeys.parse(dir, ("a:sha256:" + h + "\nb:sha256:" + h).getBytes()));
    }

    @Test
    void jwtsAreCheckedForSignatureIssuerAudienceAndExpiry() throws IOException {
        for (JwtIssuer issuer : new JwtIssuer[] {JwtIssuer.rsa("k1"), JwtIssuer.ec("e1")}) {
            var verifier = new JwtVerifier(ISS, Set.of("maas"), "sub",
                    JwksSource.file(issuer.writeJwks(dir.resolve("jwks.json")), 1000));
            var auth = new Authenticator(null, verifier, null);
            Caller c = auth.authenticate(new Presented("Bearer " + issuer.token(ISS, "maas", "system:serviceaccount:ns:app", 600), null, null));
            assertEquals(new Caller("system:serviceaccount:ns:app", CredentialKind.JWT), c);
            assertEquals("expired", refused(() -> auth.authenticate(new Presented("Bearer " + issuer.token(ISS, "maas", "a", -120), null, null))).reason());
            assertEquals("wrong-audience", refused(() -> auth.authenticate(new Presented("Bearer " + issuer.token(ISS, "other", "a", 600), null, null))).reason());
            assertEquals("wrong-issuer", refused(() -> auth.authenticate(new Presented("Bearer " + issuer.token("https://evil", "maas", "a", 600), null, null))).reason());
            // signed by another key under the same key id
            String forged = JwtIssuer.ec("e1").token(ISS, "maas", "a", 600);
            String forgedRsa = JwtIssuer.rsa("k1").token(ISS, "maas", "a", 600);
            assertEquals("bad-signature", refused(() -> auth.authenticate(new Presented("Bearer "
                    + (verifierKid(issuer).equals("e1") ? forged : forgedRsa), null, null))).reason());
            // a payload swapped under a valid signature
            String good = issuer.token(ISS, "maas", "a", 600);
            String other = issuer.token(ISS, "maas", "admin", 600);
            String[] g = good.split("\\.");
            String[] o = other.split("\\.");
            assertEquals("bad-signature", refused(() -> auth.authenticate(new Presented("Bearer " + g[0] + "." + o[1] + "." + g[2],
                    null, null))).reason());
        }
    }

    private static String verifierKid(JwtIssuer issuer) {
        return issuer.jwks().contains("\"EC\"") ? "e1" : "k1";
    }

    @Test
    void unsignedAndMalformedJwtsAreRefused() throws IOException {
        JwtIssuer issuer = JwtIssuer.rsa("k1");
        var auth = new Authenticator(null, new JwtVerifier(ISS, Set.of("maas"), "sub",
                JwksSource.file(issuer.writeJwks(dir.resolve("jwks.json")), 1000)), null);
        String none = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString("{\"alg\":\"none\"}".getBytes())
                + "." + java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(
                ("{\"iss\":\"" + ISS + "\",\"aud\":\"maas\",\"sub\":\"a\",\"exp\":9999999999}").getBytes()) + ".";
        assertEquals("bad-jwt", refused(() -> auth.authenticate(new Presented("Bearer " + none, null, null))).reason());
        assertEquals("bad-header", refused(() -> auth.authenticate(new Presented("Basic abc", null, null))).reason());
        long now = System.currentTimeMillis() / 1000;
        // Kubernetes puts the audiences in an array
        String arrayAud = issuer.token(Map.of("iss", ISS, "aud", List.of("other", "maas"), "sub", "sa", "exp", now + 60));
        assertEquals("sa", auth.authenticate(new Presented("Bearer " + arrayAud, null, null)).tenant());
        String noExp = issuer.token(Map.of("iss", ISS, "aud", "maas", "sub", "a"));
        assertEquals("bad-jwt", refused(() -> auth.authenticate(new Presented("Bearer " + noExp, null, null))).reason());
    }

    @Test
    void credentialsNamingDifferentTenantsAreRefused() throws IOException {
        var auth = new Authenticator(keys("a:sha256:" + ApiKeys.hash("ka") + "\nb:sha256:" + ApiKeys.hash("kb"), new AtomicLong()), null, null);
        assertEquals("conflicting-credentials", refused(() -> auth.authenticate(new Presented("Bearer ka", "kb", null))).reason());
        assertEquals("a", auth.authenticate(new Presented("Bearer ka", "ka", null)).tenant());
    }
}
