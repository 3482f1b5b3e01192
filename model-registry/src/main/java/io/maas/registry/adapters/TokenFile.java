package io.maas.registry.adapters;

import io.maas.registry.domain.AccessPolicy.Credential;
import io.maas.registry.domain.Role;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;

/** Reads the tokens file: one {@code subject:role:token} per line; '#' starts a comment. */
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
            if (parts.length != 3 || parts[0].isBlank() || parts[2].isBlank()) {
                throw new IllegalArgumentException(where + ": expected subject:role:token");
            }
            Role role;
            try {
                role = Role.valueOf(parts[1].strip().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(where + ": role '" + parts[1] + "' is not reader, writer or admin");
            }
            if (!tokens.add(parts[2].strip())) {
                throw new IllegalArgumentException(where + ": token reused; each subject needs its own token");
            }
            credentials.add(new Credential(parts[0].strip(), role, parts[2].strip()));
        }
        if (credentials.isEmpty()) {
            throw new IllegalArgumentException(file + " lists no tokens");
        }
        return credentials;
    }
}
