package io.maas.router;

import io.maas.auth.ApiKeys;
import io.maas.testsupport.JwtIssuer;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes the credentials bench/auth.sh runs with into a folder: keys (hashes), a policy with
 * quotas that never bite (so every check runs without refusing), the issuer's JWKS, and the
 * plain key and a signed JWT for the load generator.
 */
public final class AuthBenchFiles {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        String key = "bench-key-0123456789abcdef0123456789";
        Files.writeString(dir.resolve("keys"), "bench:sha256:" + ApiKeys.hash(key) + "\n");
        Files.writeString(dir.resolve("api-key"), key);
        Files.writeString(dir.resolve("policy.yaml"), """
                tenants:
                  bench:
                    models: [simple]
                    quota: {requestsPerSecond: 1000000, burst: 1000000, concurrent: 100000}
                    modelQuotas: {simple: {requestsPerSecond: 1000000, burst: 1000000, concurrent: 100000}}
                fairShare: {concurrentPerModel: 100000}
                """);
        JwtIssuer issuer = JwtIssuer.rsa("bench");
        issuer.writeJwks(dir.resolve("jwks.json"));
        Files.writeString(dir.resolve("jwt"), issuer.token("https://bench.issuer", "maas", "bench", 3600));
    }
}
