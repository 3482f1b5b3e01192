package io.maas.router.adapters;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.maas.testsupport.TestCertificates;
import io.smallrye.config.EnvConfigSource;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfigBuilder;

/**
 * The router's PEM files without a server: rotation picked up by content, a half-rotated pair kept
 * out, and every bad setting failing start-up with the variable, the file and the fix.
 */
class RouterTlsFilesTest {
    @TempDir
    Path dir;

    @Test
    void reloadServesARotatedPairAndKeepsAHalfRotatedOneOut() throws IOException {
        TestCertificates certs = TestCertificates.in(dir);
        TestCertificates.Authority ca = certs.authority("ca");
        TestCertificates.Issued first = ca.server("tls");
        ReloadingKeyManager keys = new ReloadingKeyManager("MAAS_TLS_CERT/MAAS_TLS_KEY", first.certificate(), first.key());
        assertEquals(first.serial(), keys.current().getSerialNumber());
        keys.reload();
        assertEquals(first.serial(), keys.current().getSerialNumber(), "unchanged files, same certificate");

        // a new certificate next to the old key: not a pair, so the old one stays
        Path oldKey = Files.copy(first.key(), dir.resolve("old.key"));
        TestCertificates.Issued second = ca.server("tls");
        Files.copy(oldKey, second.key(), StandardCopyOption.REPLACE_EXISTING);
        keys.reload();
        assertEquals(first.serial(), keys.current().getSerialNumber(), "half-rotated pair served");

        TestCertificates.Issued third = ca.server("tls");
        keys.reload();
        assertEquals(third.serial(), keys.current().getSerialNumber());
        String alias = keys.chooseEngineServerAlias("EC", null, null);
        assertEquals(third.serial(), keys.getCertificateChain(alias)[0].getSerialNumber());
        assertEquals(null, keys.chooseEngineServerAlias("RSA", null, null), "an EC key offered for RSA");
    }

    @Test
    void keysThatAreNotPkcs8SayHowToConvertThem() throws IOException {
        TestCertificates.Issued pair = TestCertificates.in(dir).authority("ca").server("tls");
        Files.writeString(pair.key(), "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n");
        var e = assertThrows(IllegalStateException.class, () -> new ReloadingKeyManager("MAAS_TLS_CERT/MAAS_TLS_KEY", pair.certificate(), pair.key()));
        assertTrue(e.getMessage().contains("MAAS_TLS_CERT/MAAS_TLS_KEY key: " + pair.key() + " holds a RSA PRIVATE KEY"), e.getMessage());
        assertTrue(e.getMessage().contains("openssl pkcs8 -topk8 -nocrypt"), e.getMessage());
        Files.writeString(pair.certificate(), "not a certificate");
        e = assertThrows(IllegalStateException.class, () -> new ReloadingTrustManager("MAAS_TLS_CLIENT_CA", pair.certificate(), null));
        assertEquals("MAAS_TLS_CLIENT_CA: " + pair.certificate() + " is not a PEM certificate file (no BEGIN CERTIFICATE block)", e.getMessage());
    }

    @Test
    void aKeyOfAnotherCertificateFailsStartup() {
        TestCertificates certs = TestCertificates.in(dir);
        TestCertificates.Authority ca = certs.authority("ca");
        TestCertificates.Issued a = ca.server("a");
        TestCertificates.Issued b = ca.server("b");
        var e = assertThrows(IllegalStateException.class, () -> new ReloadingKeyManager("MAAS_TLS_CERT/MAAS_TLS_KEY", a.certificate(), b.key()));
        assertTrue(e.getMessage().contains("the key " + b.key() + " does not belong to the certificate " + a.certificate()), e.getMessage());
    }

    static RouterTls tls(Map<String, String> env) {
        RouterTls tls = new RouterTls();
        try {
            tls.config = new SmallRyeConfigBuilder().addDefaultInterceptors()
                    .withSources(new PropertiesConfigSource(RouterTlsFilesTest.class.getResource("/application.properties"), 250))
                    .withSources(new EnvConfigSource(env, 300)).withMapping(RouterConfig.class).build().getConfigMapping(RouterConfig.class);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        tls.init();
        return tls;
    }

    String refusal(Map<String, String> env) {
        return assertThrows(IllegalStateException.class, () -> tls(env)).getMessage();
    }

    @Test
    void settingsThatDoNotFitTogetherFailStartupSayingWhy() {
        TestCertificates certs = TestCertificates.in(dir);
        TestCertificates.Authority ca = certs.authority("ca");
        TestCertificates.Issued server = ca.server("tls");
        Map<String, String> on = new HashMap<>(Map.of("MAAS_TLS_CERT", server.certificate().toString(), "MAAS_TLS_KEY", server.key().toString()));
        assertEquals("MAAS_TLS_CERT and MAAS_TLS_KEY go together: set both (TLS) or neither (plaintext)",
                refusal(Map.of("MAAS_TLS_CERT", server.certificate().toString())));
        Map<String, String> required = new HashMap<>(on);
        required.put("MAAS_TLS_CLIENT_AUTH", "REQUIRED");
        assertTrue(refusal(required).startsWith("MAAS_TLS_CLIENT_AUTH=REQUIRED needs MAAS_TLS_CLIENT_CA"), refusal(required));
        assertTrue(refusal(Map.of("MAAS_TLS_CLIENT_CA", ca.certificate().toString())).contains("the router serves plaintext"));
        Map<String, String> none = new HashMap<>(on);
        none.put("MAAS_TLS_CLIENT_CA", ca.certificate().toString());
        assertTrue(refusal(none).contains("set it to REQUEST"), refusal(none));
        Map<String, String> typo = new HashMap<>(on);
        typo.put("MAAS_TLS_CLIENT_AUTH", "WANT");
        assertEquals("MAAS_TLS_CLIENT_AUTH must be NONE, REQUEST or REQUIRED, not WANT", refusal(typo));
        assertTrue(refusal(Map.of("MAAS_TLS_PODS_SERVER_NAME", "maas-inference.maas.svc")).contains("set MAAS_TLS_PODS_ENABLED=true"));

        RouterTls plain = tls(Map.of());
        assertTrue(plain.server().isEmpty() && plain.pods().isEmpty(), "TLS without settings");
        RouterTls both = tls(Map.of("MAAS_TLS_CERT", server.certificate().toString(), "MAAS_TLS_KEY", server.key().toString(),
                "MAAS_TLS_CLIENT_AUTH", "request", "MAAS_TLS_CLIENT_CA", ca.certificate().toString(), "MAAS_TLS_PODS_CA", ca.certificate().toString()));
        try {
            assertTrue(both.server().isPresent() && both.pods().isPresent());
        } finally {
            both.close();
        }
    }
}
