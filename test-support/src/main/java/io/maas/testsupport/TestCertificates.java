package io.maas.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Throwaway X.509 certificates for tests, made in the JVM (BouncyCastle builds them; no provider is
 * registered, so the code under test sees the JDK's TLS stack only) and written as PEM files into one
 * folder: {@code <name>.pem} (the certificate) and {@code <name>.key} (its unencrypted PKCS#8 key,
 * EC P-256), the layout of a Kubernetes TLS Secret or a cert-manager Certificate. Files are replaced
 * atomically, one by one, so issuing a name again is a certificate rotation as a mounted Secret sees it.
 *
 * <pre>{@code
 * TestCertificates certs = TestCertificates.in(dir);
 * TestCertificates.Authority ca = certs.authority("ca");                 // ca.pem, ca.key
 * TestCertificates.Issued server = ca.server("tls");                     // localhost + 127.0.0.1, tls.pem / tls.key
 * TestCertificates.Issued bot = ca.client("ci-bot", "ci-bot");          // CN=ci-bot
 * TestCertificates.Issued pod = ca.client("payments", "payments", URI.create("spiffe://cluster.local/ns/p/sa/api"));
 * TestCertificates.Issued old = ca.certificate("old").commonName("localhost").dns("localhost").expired().issue();
 * Path bundle = certs.bundle("clients-ca", ca, certs.authority("other-ca"));
 * SSLContext jdk = TestCertificates.sslContext(ca, bot);                // for java.net.http / SSLSocket clients
 * }</pre>
 */
public final class TestCertificates {
    private static final AtomicLong SERIAL = new AtomicLong(System.currentTimeMillis());
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path dir;

    private TestCertificates(Path dir) {
        this.dir = dir;
    }

    /** Certificates written into {@code dir} (created if missing). */
    public static TestCertificates in(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new TestCertificates(dir);
    }

    public Path dir() {
        return dir;
    }

    /** The certificate file of {@code name}. */
    public Path pem(String name) {
        return dir.resolve(name + ".pem");
    }

    /** The private key file of {@code name}. */
    public Path key(String name) {
        return dir.resolve(name + ".key");
    }

    /** A new self-signed CA ({@code CN=maas test <name>}), valid from an hour ago for two days. */
    public Authority authority(String name) {
        KeyPair keys = newKeyPair();
        X500Name subject = name("maas test " + name);
        Instant now = Instant.now();
        try {
            var utils = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, serial(), Date.from(now.minus(Duration.ofHours(1))),
                    Date.from(now.plus(Duration.ofDays(2))), subject, keys.getPublic());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            b.addExtension(Extension.subjectKeyIdentifier, false, utils.createSubjectKeyIdentifier(keys.getPublic()));
            X509Certificate cert = sign(b, keys.getPrivate());
            write(name, cert, keys.getPrivate());
            return new Authority(name, cert, keys.getPrivate());
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot make the test CA " + name, e);
        }
    }

    /** One PEM file {@code <name>.pem} holding the certificates of these CAs, as a CA bundle. */
    public Path bundle(String name, Authority... authorities) {
        var pem = new StringBuilder();
        for (Authority a : authorities) {
            pem.append(pem(a.x509()));
        }
        Path file = pem(name);
        replace(file, pem.toString());
        return file;
    }

    /** A certificate authority: signs server and client certificates into the same folder. */
    public final class Authority {
        private final String name;
        private final X509Certificate cert;
        private final PrivateKey key;

        private Authority(String name, X509Certificate cert, PrivateKey key) {
            this.name = name;
            this.cert = cert;
            this.key = key;
        }

        public String name() {
            return name;
        }

        /** The CA certificate file: what a peer trusts. */
        public Path certificate() {
            return pem(name);
        }

        public Path key() {
            return TestCertificates.this.key(name);
        }

        public X509Certificate x509() {
            return cert;
        }

        /** A server certificate {@code CN=localhost} for DNS localhost and IP 127.0.0.1 (or for {@code hosts}). */
        public Issued server(String file, String... hosts) {
            Spec spec = certificate(file).commonName(hosts.length == 0 ? "localhost" : hosts[0]).serverAuth();
            for (String h : hosts.length == 0 ? new String[] {"localhost", "127.0.0.1"} : hosts) {
                if (h.chars().allMatch(c -> Character.isDigit(c) || c == '.') || h.contains(":")) {
                    spec.ip(h);
                } else {
                    spec.dns(h);
                }
            }
            return spec.issue();
        }

        /** A client certificate with subject {@code CN=<commonName>} and optional URI SANs (e.g. SPIFFE ids). */
        public Issued client(String file, String commonName, URI... uris) {
            Spec spec = certificate(file).commonName(commonName).clientAuth();
            for (URI u : uris) {
                spec.uri(u);
            }
            return spec.issue();
        }

        /** Any other certificate this CA signs: set what matters, then {@link Spec#issue()}. */
        public Spec certificate(String file) {
            return new Spec(this, file);
        }
    }

    /** What a certificate says; valid from an hour ago for two days unless told otherwise. */
    public final class Spec {
        private final Authority issuer;
        private final String file;
        private String commonName;
        private final List<GeneralName> names = new ArrayList<>();
        private final List<KeyPurposeId> purposes = new ArrayList<>();
        private Instant notBefore = Instant.now().minus(Duration.ofHours(1));
        private Instant notAfter = Instant.now().plus(Duration.ofDays(2));
        private boolean withChain;

        private Spec(Authority issuer, String file) {
            this.issuer = issuer;
            this.file = file;
            this.commonName = file;
        }

        public Spec commonName(String cn) {
            this.commonName = cn;
            return this;
        }

        public Spec dns(String host) {
            names.add(new GeneralName(GeneralName.dNSName, host));
            return this;
        }

        public Spec ip(String address) {
            names.add(new GeneralName(GeneralName.iPAddress, address));
            return this;
        }

        public Spec uri(URI uri) {
            names.add(new GeneralName(GeneralName.uniformResourceIdentifier, uri.toString()));
            return this;
        }

        public Spec serverAuth() {
            purposes.add(KeyPurposeId.id_kp_serverAuth);
            return this;
        }

        public Spec clientAuth() {
            purposes.add(KeyPurposeId.id_kp_clientAuth);
            return this;
        }

        public Spec validity(Instant from, Instant until) {
            this.notBefore = from;
            this.notAfter = until;
            return this;
        }

        /** Valid for a day until yesterday. */
        public Spec expired() {
            Instant now = Instant.now();
            return validity(now.minus(Duration.ofDays(2)), now.minus(Duration.ofDays(1)));
        }

        /** Also write the CA certificate after the leaf in {@code <file>.pem}, as cert-manager's tls.crt does. */
        public Spec withChain() {
            this.withChain = true;
            return this;
        }

        /** Makes the certificate and (re)writes {@code <file>.pem} and {@code <file>.key}. */
        public Issued issue() {
            KeyPair keys = newKeyPair();
            try {
                var utils = new JcaX509ExtensionUtils();
                X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer.cert, serial(), Date.from(notBefore),
                        Date.from(notAfter), name(commonName), keys.getPublic());
                b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
                b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement));
                if (!purposes.isEmpty()) {
                    b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purposes.toArray(KeyPurposeId[]::new)));
                }
                if (!names.isEmpty()) {
                    b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(GeneralName[]::new)));
                }
                b.addExtension(Extension.subjectKeyIdentifier, false, utils.createSubjectKeyIdentifier(keys.getPublic()));
                b.addExtension(Extension.authorityKeyIdentifier, false, utils.createAuthorityKeyIdentifier(issuer.cert));
                X509Certificate cert = sign(b, issuer.key);
                String chain = withChain ? pem(cert) + pem(issuer.cert) : pem(cert);
                // key first: a reader that sees the new certificate also finds its key.
                replace(key(file), pem("PRIVATE KEY", keys.getPrivate().getEncoded()));
                replace(pem(file), chain);
                return new Issued(pem(file), key(file), cert, keys.getPrivate());
            } catch (IOException | GeneralSecurityException e) {
                throw new IllegalStateException("cannot make the test certificate " + file, e);
            }
        }
    }

    /** An issued certificate: its files and what they hold. */
    public record Issued(Path certificate, Path key, X509Certificate x509, PrivateKey privateKey) {
        public BigInteger serial() {
            return x509.getSerialNumber();
        }
    }

    /**
     * A JDK TLS context that trusts {@code trusted} and presents {@code presented} (null: no client
     * certificate), for plain-JDK clients (java.net.http, SSLSocket) in tests.
     */
    public static SSLContext sslContext(Authority trusted, Issued presented) {
        try {
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("ca", trusted.x509());
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            KeyManagerFactory kmf = null;
            if (presented != null) {
                char[] password = "test".toCharArray();
                KeyStore keys = KeyStore.getInstance("PKCS12");
                keys.load(null, null);
                keys.setKeyEntry("client", presented.privateKey(), password, new X509Certificate[] {presented.x509()});
                kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(keys, password);
            }
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), RANDOM);
            return context;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot build a test TLS context", e);
        }
    }

    private static X500Name name(String cn) {
        return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, cn).build();
    }

    private static BigInteger serial() {
        return BigInteger.valueOf(SERIAL.incrementAndGet()).shiftLeft(16).or(BigInteger.valueOf(RANDOM.nextInt(1 << 16)));
    }

    private static KeyPair newKeyPair() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key) throws GeneralSecurityException {
        try {
            return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key)));
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException(e);
        }
    }

    private void write(String name, X509Certificate cert, PrivateKey key) throws GeneralSecurityException {
        replace(key(name), pem("PRIVATE KEY", key.getEncoded()));
        replace(pem(name), pem(cert));
    }

    private static String pem(X509Certificate cert) {
        try {
            return pem("CERTIFICATE", cert.getEncoded());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String pem(String type, byte[] der) {
        String body = Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
        return "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n";
    }

    /** Written beside the target and moved over it, so a reader never sees half a file. */
    private static void replace(Path file, String content) {
        try {
            Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), "." + file.getFileName(), ".tmp");
            Files.writeString(tmp, content, StandardCharsets.US_ASCII);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
