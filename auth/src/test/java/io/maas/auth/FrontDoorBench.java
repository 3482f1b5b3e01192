package io.maas.auth;

import io.maas.testsupport.JwtIssuer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The front door's own CPU cost per call, in one JVM, one thread: authenticate + authorize (model,
 * then version and track) + admit and release the quota permit, for authentication off, an API key
 * and a JWT (cached after its first verification), and a JWT's first verification (RSA signature).
 * Prints ns per call, median of 5 rounds. A load-insensitive complement to router-service/bench/auth.sh,
 * which measures the same through real sockets (but on a busy machine the end-to-end p50 moves by
 * more than the checks cost). router-service/bench/auth.sh runs it first.
 */
public final class FrontDoorBench {
    /**
     * @param args a folder: besides measuring, the credentials are left there for bench/auth.sh's
     *             routers and load generator (keys, policy.yaml, jwks.json; api-key and jwt in plain)
     */
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        String key = "bench-key-0123456789abcdef0123456789";
        Files.writeString(dir.resolve("keys"), "bench:sha256:" + ApiKeys.hash(key) + "\n");
        Files.writeString(dir.resolve("api-key"), key);
        Files.writeString(dir.resolve("policy.yaml"), """
                tenants:
                  bench:
                    models: [simple]
                    quota: {requestsPerSecond: 1000000000, burst: 1000000000, concurrent: 100000}
                    modelQuotas: {simple: {requestsPerSecond: 1000000000, burst: 1000000000, concurrent: 100000}}
                fairShare: {concurrentPerModel: 100000}
                """);
        JwtIssuer issuer = JwtIssuer.rsa("bench");
        issuer.writeJwks(dir.resolve("jwks.json"));
        FrontDoor on = new AuthSettings(true, dir.resolve("keys"), dir.resolve("policy.yaml"), 5000, "https://bench",
                List.of("maas"), "sub", dir.resolve("jwks.json").toString(), null, null, "off").frontDoor(FrontDoor.Events.NONE);
        FrontDoor off = AuthSettings.OFF.frontDoor(FrontDoor.Events.NONE);
        Presented byKey = new Presented(null, key, null);
        String jwt = issuer.token("https://bench", "maas", "bench", 3600);
        Files.writeString(dir.resolve("jwt"), jwt);
        Presented byJwt = new Presented("Bearer " + jwt, null, null);
        Presented none = new Presented(null, null, null);
        int n = 1_000_000;
        for (String path : List.of("off", "key", "jwt")) {
            FrontDoor door = path.equals("off") ? off : on;
            Presented p = switch (path) {
                case "key" -> byKey;
                case "jwt" -> byJwt;
                default -> none;
            };
            long[] rounds = new long[5];
            pass(door, p, n); // warm-up
            for (int r = 0; r < rounds.length; r++) {
                long t0 = System.nanoTime();
                pass(door, p, n);
                rounds[r] = (System.nanoTime() - t0) / n;
            }
            java.util.Arrays.sort(rounds);
            System.out.printf("front door %-4s %6d ns per call (median of 5 x %d)%n", path, rounds[2], n);
        }
        // first verification of fresh tokens: the signature check a cache miss costs
        int fresh = 2000;
        String[] tokens = new String[fresh];
        for (int i = 0; i < fresh; i++) {
            tokens[i] = issuer.token("https://bench", "maas", "bench-" + i, 3600);
        }
        long t0 = System.nanoTime();
        for (String t : tokens) {
            on.authenticate(new Presented("Bearer " + t, null, null), Operation.INFER);
        }
        System.out.printf("front door jwt first verification %d ns per token (RS256, %d tokens)%n", (System.nanoTime() - t0) / fresh, fresh);
    }

    private static void pass(FrontDoor door, Presented p, int n) {
        for (int i = 0; i < n; i++) {
            Caller c = door.authenticate(p, Operation.INFER);
            door.authorize(c, Operation.INFER, "simple");
            door.authorize(c, Operation.INFER, "simple", "1", "stable");
            door.admit(c, Operation.INFER, "simple").release();
        }
    }
}
