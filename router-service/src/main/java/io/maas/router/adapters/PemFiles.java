package io.maas.router.adapters;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the PEM files of a Kubernetes TLS Secret or cert-manager Certificate (tls.crt, tls.key,
 * ca.crt) with the JDK alone. Every failure names the setting and the file, and says how to fix it.
 */
final class PemFiles {
    private static final Pattern BLOCK = Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END \\1-----");

    private PemFiles() {
    }

    /** The certificates of a PEM file, in file order (leaf first for a chain). */
    static List<X509Certificate> certificates(String setting, Path file) {
        List<X509Certificate> certs = new ArrayList<>();
        try {
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            for (Block b : blocks(setting, file)) {
                if (b.type.equals("CERTIFICATE")) {
                    certs.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(b.der)));
                }
            }
        } catch (CertificateException e) {
            throw new IllegalStateException(setting + ": " + file + " holds a certificate that cannot be parsed: " + e.getMessage(), e);
        }
        if (certs.isEmpty()) {
            throw new IllegalStateException(setting + ": " + file + " is not a PEM certificate file (no BEGIN CERTIFICATE block)");
        }
        return certs;
    }

    /** The unencrypted PKCS#8 private key ({@code BEGIN PRIVATE KEY}) of a PEM file, RSA or EC. */
    static PrivateKey privateKey(String setting, Path file) {
        for (Block b : blocks(setting, file)) {
            switch (b.type) {
                case "PRIVATE KEY" -> {
                    for (String algorithm : List.of("EC", "RSA", "Ed25519")) {
                        try {
                            return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(b.der));
                        } catch (GeneralSecurityException e) {
                            // try the next algorithm
                        }
                    }
                    throw new IllegalStateException(setting + ": " + file + " holds a PKCS#8 key that is neither EC, RSA nor Ed25519");
                }
                case "RSA PRIVATE KEY", "EC PRIVATE KEY" -> throw new IllegalStateException(setting + ": " + file + " holds a "
                        + b.type + " (PKCS#1/SEC1); convert it to PKCS#8 with `openssl pkcs8 -topk8 -nocrypt -in " + file.getFileName()
                        + " -out tls.key`, or set privateKey.encoding: PKCS8 on the cert-manager Certificate");
                case "ENCRYPTED PRIVATE KEY" -> throw new IllegalStateException(setting + ": " + file
                        + " holds an encrypted key; the router reads only unencrypted PKCS#8 keys (protect the Secret instead)");
                default -> {
                    // certificates next to the key are fine
                }
            }
        }
        throw new IllegalStateException(setting + ": " + file + " holds no PEM private key (no BEGIN PRIVATE KEY block)");
    }

    /** True when the key signs what the certificate's public key verifies: the pair belongs together. */
    static boolean matches(PrivateKey key, X509Certificate cert) {
        PublicKey pub = cert.getPublicKey();
        String algorithm = switch (key.getAlgorithm()) {
            case "EC" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            default -> key.getAlgorithm();
        };
        if (!pub.getAlgorithm().equals(key.getAlgorithm())) {
            return false;
        }
        try {
            byte[] probe = "maas key check".getBytes(StandardCharsets.US_ASCII);
            Signature s = Signature.getInstance(algorithm);
            s.initSign(key);
            s.update(probe);
            byte[] signature = s.sign();
            Signature v = Signature.getInstance(algorithm);
            v.initVerify(pub);
            v.update(probe);
            return v.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private record Block(String type, byte[] der) {
    }

    private static List<Block> blocks(String setting, Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new IllegalStateException(setting + ": cannot read " + file + ": " + e, e);
        }
        List<Block> blocks = new ArrayList<>();
        Matcher m = BLOCK.matcher(text);
        while (m.find()) {
            try {
                blocks.add(new Block(m.group(1), Base64.getMimeDecoder().decode(m.group(2).trim())));
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException(setting + ": " + file + ": a " + m.group(1) + " block is not valid base64", e);
            }
        }
        return blocks;
    }
}
