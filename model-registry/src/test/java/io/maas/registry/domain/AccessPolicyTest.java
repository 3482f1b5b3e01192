package io.maas.registry.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import io.maas.auth.ApiKeys;

class AccessPolicyTest {

    @Test
    void tokensStoredAsHashesAuthenticateLikePlainOnes() {
        var policy = AccessPolicy.tokens(List.of(
                new AccessPolicy.Credential("router", Role.WRITER, Optional.of("sha256:" + ApiKeys.hash("router-secret"))),
                new AccessPolicy.Credential("ops", Role.ADMIN, Optional.of("plain-secret"))), false);
        assertEquals(new Actor("router", Role.WRITER), policy.authorize(Optional.empty(), Optional.of("router-secret"), true));
        assertEquals(new Actor("ops", Role.ADMIN), policy.authorize(Optional.empty(), Optional.of("plain-secret"), true));
        var e = assertThrows(RegistryException.class, () -> policy.authorize(Optional.empty(),
                Optional.of("sha256:" + ApiKeys.hash("router-secret")), true), "the stored hash is not itself a token");
        assertEquals(RegistryException.Kind.UNAUTHENTICATED, e.kind());
    }
}
