package io.maas.auth;

import java.security.cert.X509Certificate;

/**
 * The credentials a transport saw on one call, before any is checked.
 *
 * @param authorization the {@code authorization} header (gRPC metadata or HTTP), or null
 * @param apiKey        the {@code x-api-key} header, or null
 * @param certificate   the client certificate the TLS handshake verified, or null
 */
public record Presented(String authorization, String apiKey, X509Certificate certificate) {

    public static final String AUTHORIZATION = "authorization";
    public static final String API_KEY = "x-api-key";

    /** The token of {@code authorization: Bearer <token>}, "" when that header is something else, null when absent. */
    public String bearer() {
        if (authorization == null || authorization.isBlank()) {
            return null;
        }
        String h = authorization.strip();
        return h.regionMatches(true, 0, "Bearer ", 0, 7) ? h.substring(7).strip() : "";
    }

    public boolean empty() {
        return (authorization == null || authorization.isBlank()) && (apiKey == null || apiKey.isBlank()) && certificate == null;
    }
}
