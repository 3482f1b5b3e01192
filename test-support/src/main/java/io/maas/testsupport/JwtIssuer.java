package io.maas.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A token issuer for tests: its own key pair (RSA for RS256, or EC P-256 for ES256), its JWKS
 * document, and signed JWTs with whatever claims a test needs (expired, wrong audience, ...).
 */
public final class JwtIssuer {
    private final KeyPair keys;
    private final String kid;
    private final boolean ec;

    private JwtIssuer(KeyPair keys, String kid, boolean ec) {
        this.keys = keys;
        this.kid = kid;
        this.ec = ec;
    }

    public static JwtIssuer rsa(String kid) {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(2048);
            return new JwtIssuer(g.generateKeyPair(), kid, false);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    public static JwtIssuer ec(String kid) {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            return new JwtIssuer(g.generateKeyPair(), kid, true);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The JWKS document ({"keys":[...]}) publishing this issuer's public key. */
    public String jwks() {
        String key;
        if (ec) {
            ECPublicKey pub = (ECPublicKey) keys.getPublic();
            key = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"use\":\"sig\",\"kid\":\"" + kid + "\",\"x\":\""
                    + b64(fixed(pub.getW().getAffineX(), 32)) + "\",\"y\":\"" + b64(fixed(pub.getW().getAffineY(), 32)) + "\"}";
        } else {
            RSAPublicKey pub = (RSAPublicKey) keys.getPublic();
            key = "{\"kty\":\"RSA\",\"use\":\"sig\",\"alg\":\"RS256\",\"kid\":\"" + kid + "\",\"n\":\""
                    + b64(unsigned(pub.getModulus())) + "\",\"e\":\"" + b64(unsigned(pub.getPublicExponent())) + "\"}";
        }
        return "{\"keys\":[" + key + "]}";
    }

    public Path writeJwks(Path file) {
        try {
            Files.writeString(file, jwks());
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A token with these claims (string, number, boolean or list values), signed by this issuer. */
    public String token(Map<String, Object> claims) {
        String header = "{\"alg\":\"" + (ec ? "ES256" : "RS256") + "\",\"typ\":\"JWT\",\"kid\":\"" + kid + "\"}";
        String payload = claims.entrySet().stream().map(e -> "\"" + e.getKey() + "\":" + value(e.getValue()))
                .collect(Collectors.joining(",", "{", "}"));
        String signingInput = b64(header.getBytes(StandardCharsets.UTF_8)) + "." + b64(payload.getBytes(StandardCharsets.UTF_8));
        try {
            Signature s = Signature.getInstance(ec ? "SHA256withECDSA" : "SHA256withRSA");
            s.initSign(keys.getPrivate());
            s.update(signingInput.getBytes(StandardCharsets.US_ASCII));
            byte[] sig = s.sign();
            return signingInput + "." + b64(ec ? rawEcdsa(sig) : sig);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A token for {@code subject} from {@code issuer} to {@code audience}, valid for {@code seconds} (negative: already expired). */
    public String token(String issuer, String audience, String subject, long seconds) {
        long now = System.currentTimeMillis() / 1000;
        return token(Map.of("iss", issuer, "aud", audience, "sub", subject, "iat", now, "exp", now + seconds));
    }

    private static String value(Object v) {
        if (v instanceof Number || v instanceof Boolean) {
            return v.toString();
        }
        if (v instanceof java.util.List<?> list) {
            return list.stream().map(JwtIssuer::value).collect(Collectors.joining(",", "[", "]"));
        }
        return "\"" + v.toString().replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static String b64(byte[] b) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    private static byte[] unsigned(BigInteger i) {
        byte[] b = i.toByteArray();
        return b[0] == 0 && b.length > 1 ? Arrays.copyOfRange(b, 1, b.length) : b;
    }

    private static byte[] fixed(BigInteger i, int len) {
        byte[] b = unsigned(i);
        byte[] out = new byte[len];
        System.arraycopy(b, 0, out, len - b.length, b.length);
        return out;
    }

    /** DER SEQUENCE{INTEGER r, INTEGER s} to JWS's fixed-width r||s. */
    private static byte[] rawEcdsa(byte[] der) {
        int i = 2 + ((der[1] & 0x80) != 0 ? (der[1] & 0x7f) : 0);
        int rLen = der[i + 1];
        BigInteger r = new BigInteger(1, Arrays.copyOfRange(der, i + 2, i + 2 + rLen));
        i = i + 2 + rLen;
        int sLen = der[i + 1];
        BigInteger s = new BigInteger(1, Arrays.copyOfRange(der, i + 2, i + 2 + sLen));
        byte[] out = new byte[64];
        System.arraycopy(fixed(r, 32), 0, out, 0, 32);
        System.arraycopy(fixed(s, 32), 0, out, 32, 32);
        return out;
    }
}
