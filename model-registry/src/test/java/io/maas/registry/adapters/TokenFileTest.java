package io.maas.registry.adapters;

import io.maas.registry.domain.AccessPolicy;
import io.maas.registry.domain.Actor;
import io.maas.registry.domain.RegistryException;
import io.maas.registry.domain.Role;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Tokens file lines, incl. certificate-only ones, and how AccessPolicy treats verified subjects next to tokens. */
class TokenFileTest {

    private static AccessPolicy policy(String file) {
        return AccessPolicy.tokens(TokenFile.parse(Path.of("tokens"), file.getBytes(StandardCharsets.UTF_8)), false);
    }

    private static RegistryException refused(Runnable call) {
        return assertThrows(RegistryException.class, call::run);
    }

    @Test
    void certificateOnlyLinesHaveNoToken() {
        var p = policy("ci-bot:writer:\ndashboard:reader\nops:admin:ops-secret\n");
        assertEquals(new Actor("ci-bot", Role.WRITER), p.authorize(Optional.of("ci-bot"), Optional.empty(), true));
        assertEquals(RegistryException.Kind.PERMISSION_DENIED,
                refused(() -> p.authorize(Optional.of("dashboard"), Optional.empty(), true)).kind());
        // an empty token on a line is not a token anyone can send
        assertEquals(RegistryException.Kind.UNAUTHENTICATED, refused(() -> p.authorize(Optional.empty(), Optional.of(""), true)).kind());
    }

    @Test
    void aSubjectOnSeveralLinesGetsItsLeastRoleFromACertificate() {
        var p = policy("ci-bot:admin:admin-secret\nci-bot:reader:read-secret\n");
        assertEquals(Role.READER, p.authorize(Optional.of("ci-bot"), Optional.empty(), false).role());
        // with the subject's own token the token's line decides
        assertEquals(Role.ADMIN, p.authorize(Optional.of("ci-bot"), Optional.of("admin-secret"), true).role());
    }

    @Test
    void tokenAndCertificateMustNameOneSubject() {
        var p = policy("ci-bot:writer:\nops:admin:ops-secret\n");
        var e = refused(() -> p.authorize(Optional.of("ci-bot"), Optional.of("ops-secret"), true));
        assertEquals(RegistryException.Kind.UNAUTHENTICATED, e.kind());
        assertTrue(e.getMessage().contains("belongs to 'ops' but the client certificate to 'ci-bot'"), e.getMessage());
        var unknown = refused(() -> p.authorize(Optional.of("stranger"), Optional.empty(), false));
        assertEquals(RegistryException.Kind.PERMISSION_DENIED, unknown.kind());
        assertTrue(unknown.getMessage().contains("add a line 'stranger:<role>:'"), unknown.getMessage());
    }

    @Test
    void tokensFileKeepsItsChecks() {
        var e = assertThrows(IllegalArgumentException.class, () -> policy("no roles here\n"));
        assertTrue(e.getMessage().contains("tokens line 1: expected subject:role:token"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> policy("a:boss:x\n"));
        assertTrue(e.getMessage().contains("role 'boss' is not reader, writer or admin"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> policy("a:writer:x\nb:writer:x\n"));
        assertTrue(e.getMessage().contains("token reused"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> policy("# nothing\n"));
        assertTrue(e.getMessage().contains("lists no tokens"), e.getMessage());
    }
}
