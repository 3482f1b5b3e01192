package io.maas.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Path;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;

/** A JSON Web Key Set (RFC 7517): the issuer's signing keys by key id. RSA and EC (P-256, P-384) keys. */
public final class Jwks {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, PublicKey> byKid;

    private Jwks(Map<String, PublicKey> byKid) {
        this.byKid = Map.copyOf(byKid);
    }

    /** The keys of a JWKS document from {@code source} (named in errors). Keys not for signatures are skipped. */
    public static Jwks parse(Path source, byte[] json) {
        return parse(String.valueOf(source), json);
    }

    public static Jwks parse(String source, byte[] json) {
        JsonNode keys;
        try {
            keys = JSON.readTree(json).path("keys");
        } catch (IOException e) {
            throw new IllegalArgumentException(source + " is not JSON: " + e.getMessage());
        }
        if (!keys.isArray()) {
            throw new IllegalArgumentException(source + " has no \"keys\" array: is it a JWKS document?");
        }
        Map<String, PublicKey> byKid = new HashMap<>();
        for (JsonNode k : keys) {
            if (!k.path("use").asText("sig").equals("sig")) {
                continue;
            }
            String kid = k.path("kid").asText("");
            try {
                PublicKey key = switch (k.path("kty").asText()) {
                    case "RSA" -> KeyFactory.getInstance("RSA").generatePublic(
                            new RSAPublicKeySpec(uint(k, "n"), uint(k, "e")));
                    case "EC" -> ec(k);
                    default -> null;
                };
                if (key != null) {
                    byKid.put(kid, key);
                }
            } catch (GeneralSecurityException | IllegalArgumentException e) {
                throw new IllegalArgumentException(source + ": key '" + kid + "' cannot be read: " + e.getMessage());
            }
        }
        if (byKid.isEmpty()) {
            throw new IllegalArgumentException(source + " has no RSA or EC signing key");
        }
        return new Jwks(byKid);
    }

    /** The key named {@code kid}; a token without kid may use the only key of a one-key set. */
    public PublicKey key(String kid) {
        if (kid == null || kid.isEmpty()) {
            return byKid.size() == 1 ? byKid.values().iterator().next() : byKid.get("");
        }
        return byKid.get(kid);
    }

    public int size() {
        return byKid.size();
    }

    private static PublicKey ec(JsonNode k) throws GeneralSecurityException {
        String curve = switch (k.path("crv").asText()) {
            case "P-256" -> "secp256r1";
            case "P-384" -> "secp384r1";
            case "P-521" -> "secp521r1";
            default -> throw new IllegalArgumentException("curve '" + k.path("crv").asText() + "' is not supported");
        };
        AlgorithmParameters params = AlgorithmParameters.getInstance("EC");
        params.init(new ECGenParameterSpec(curve));
        ECParameterSpec spec = params.getParameterSpec(ECParameterSpec.class);
        return KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(new ECPoint(uint(k, "x"), uint(k, "y")), spec));
    }

    private static BigInteger uint(JsonNode k, String field) {
        String v = k.path(field).asText("");
        if (v.isEmpty()) {
            throw new IllegalArgumentException("field '" + field + "' is missing");
        }
        return new BigInteger(1, Base64.getUrlDecoder().decode(v));
    }
}
