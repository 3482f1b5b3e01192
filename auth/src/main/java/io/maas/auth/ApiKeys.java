package io.maas.auth;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The API keys file: one {@code tenant:sha256:<hex>} per line, '#' starts a comment. Only the
 * SHA-256 of each key is stored (make one with {@code printf %s "$KEY" | sha256sum}), so the file,
 * the Secret it is mounted from and any copy of them reveal no key. Keys are random and long,
 * so an unsalted hash suffices; lookups hash the presented key and find it in a map.
 */
public final class ApiKeys {

    private static final Pattern HEX = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern TENANT = Pattern.compile("[A-Za-z0-9_.@\\-:/]{1,200}");
    private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    });

    private final Map<String, String> tenantByHash;

    private ApiKeys(Map<String, String> tenantByHash) {
        this.tenantByHash = Map.copyOf(tenantByHash);
    }

    /** The keys in {@code content}, read from {@code file} (named in errors, which never quote a line's hash). */
    public static ApiKeys parse(Path file, byte[] content) {
        List<String> lines = new String(content, StandardCharsets.UTF_8).lines().toList();
        Map<String, String> byHash = new HashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String where = file + " line " + (i + 1);
            int cut = line.lastIndexOf(":sha256:");
            if (cut <= 0) {
                throw new IllegalArgumentException(where + ": expected tenant:sha256:<64 hex digits> (the key's SHA-256, not the key)");
            }
            String tenant = line.substring(0, cut).strip();
            String hash = line.substring(cut + 8).strip().toLowerCase(java.util.Locale.ROOT);
            if (!TENANT.matcher(tenant).matches()) {
                throw new IllegalArgumentException(where + ": tenant '" + tenant + "' may use letters, digits and _ . @ - : / only");
            }
            if (!HEX.matcher(hash).matches()) {
                throw new IllegalArgumentException(where + ": the hash must be 64 hex digits (printf %s \"$KEY\" | sha256sum)");
            }
            String previous = byHash.put(hash, tenant);
            if (previous != null) {
                throw new IllegalArgumentException(where + ": the same key is listed for '" + previous + "' and '" + tenant
                        + "': each key names one tenant");
            }
        }
        return new ApiKeys(byHash);
    }

    /** The tenant of a presented key, if the file lists its hash. */
    public Optional<String> tenant(String key) {
        return Optional.ofNullable(tenantByHash.get(hash(key)));
    }

    public int size() {
        return tenantByHash.size();
    }

    /** Lower-case hex SHA-256 of the key's UTF-8 bytes: what the file stores. */
    public static String hash(String key) {
        MessageDigest md = SHA256.get();
        md.reset();
        return HexFormat.of().formatHex(md.digest(key.getBytes(StandardCharsets.UTF_8)));
    }
}
