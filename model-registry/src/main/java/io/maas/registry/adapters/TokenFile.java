package io.maas.registry.adapters;

import io.maas.registry.domain.AccessPolicy.Credential;
import io.maas.registry.domain.Role;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Reads the tokens file: one {@code subject:role:token} per line; '#' starts a comment. The token
 * may be stored as {@code sha256:<hex>} (its SHA-256, as the router's API keys are), so the file
 * and its Secret reveal none. A line without a token ({@code subject:role:} or {@code subject:role}) lists a subject that may only
 * authenticate with a client certificate.
 */
public final class TokenFile {

    private TokenFile() {
    }

    /** The credentials in {@code content}, read from {@code file} (named in errors). */
    public static List<Credential> parse(Path file, byte[] content) {
        List<String> lines = new String(content, StandardCharsets.UTF_8).lines().toList();
        List<Credential> credentials = new ArrayList<>();
        var tokens = new HashSet<String>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] parts = line.split(":", 3);
            String where = file + " line " + (i + 1);
            if (parts.length < 2 || parts[0].isBlank()) {
                throw new IllegalArgumentException(where + ": expected subject:role:token (or subject:role: for certificate only)");
            }
            Role role;
            try {
                role = Role.valueOf(parts[1].strip().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(where + ": role '" + parts[1] + "' is not reader, writer or admin");
            }
            Optional<String> token = parts.length == 3 ? Optional.of(parts[2].strip()).filter(t -> !t.isEmpty()) : Optional.empty();
            if (token.isPresent() && !tokens.add(token.get())) {
                throw new IllegalArgumentException(where + ": token reused; each subject needs its own token");
            }
            credentials.add(new Credential(parts[0].strip(), role, token));
        }
        if (credentials.isEmpty()) {
            throw new IllegalArgumentException(file + " lists no tokens");
        }
        return credentials;
    }
}
