package io.maas.router.adapters;

import java.net.Socket;
import java.nio.file.Path;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * The certificate and key a TLS endpoint presents, from PEM files that are read again by
 * {@link #reload()} (TlsFiles calls it at a bounded interval): every handshake after a rotation presents
 * the new certificate, connections already open keep theirs, and nothing restarts. A half-rotated pair
 * (new certificate, old key, as a Secret update may be seen for a moment) or an unreadable file keeps
 * the pair in use, logs why, and is tried again at the next check.
 */
final class ReloadingKeyManager extends X509ExtendedKeyManager implements TlsFiles.Watched {
    private static final System.Logger LOG = System.getLogger(ReloadingKeyManager.class.getName());

    /** One generation of the files; its alias names the generation, so one handshake never mixes two. */
    private record Pair(String alias, X509Certificate[] chain, PrivateKey key, String fingerprint) {
    }

    private final String setting;
    private final Path certFile;
    private final Path keyFile;
    private volatile Pair pair;
    /** The pair before the last reload, for a handshake that chose its alias just before it. */
    private volatile Pair previous;
    private int generation;

    /** Reads the files now: a missing, unreadable or mismatched pair fails start-up with the reason. */
    ReloadingKeyManager(String setting, Path certFile, Path keyFile) {
        this.setting = setting;
        this.certFile = certFile;
        this.keyFile = keyFile;
        this.pair = read(TlsFiles.fingerprint(certFile, keyFile));
    }

    private Pair read(String fingerprint) {
        List<X509Certificate> chain = PemFiles.certificates(setting + " certificate", certFile);
        PrivateKey key = PemFiles.privateKey(setting + " key", keyFile);
        if (!PemFiles.matches(key, chain.get(0))) {
            throw new IllegalStateException(setting + ": the key " + keyFile + " does not belong to the certificate " + certFile
                    + " (" + chain.get(0).getSubjectX500Principal() + ")");
        }
        return new Pair("maas-" + (++generation), chain.toArray(X509Certificate[]::new), key, fingerprint);
    }

    @Override
    public void reload() {
        String now;
        try {
            now = TlsFiles.fingerprint(certFile, keyFile);
        } catch (IllegalStateException e) {
            LOG.log(System.Logger.Level.WARNING, "{0}: keeping the certificate in use: {1}", setting, e.getMessage());
            return;
        }
        if (now.equals(pair.fingerprint)) {
            return;
        }
        try {
            Pair next = read(now);
            previous = pair;
            pair = next;
            LOG.log(System.Logger.Level.INFO, "{0}: now serving {1} (serial {2}, valid until {3})", setting,
                    next.chain[0].getSubjectX500Principal(), next.chain[0].getSerialNumber().toString(16), next.chain[0].getNotAfter());
        } catch (IllegalStateException e) {
            LOG.log(System.Logger.Level.WARNING, "{0}: keeping the certificate in use until the files are consistent: {1}",
                    setting, e.getMessage());
        }
    }

    /** The certificate presented now. */
    X509Certificate current() {
        return pair.chain[0];
    }

    /** The alias when the key suits the handshake's key type ("EC", "RSA", "EC_EC" in TLS 1.2, ...). */
    private String aliasFor(String keyType) {
        if (keyType == null) {
            return null;
        }
        Pair p = pair;
        String algorithm = p.key.getAlgorithm();
        return keyType.equals(algorithm) || keyType.startsWith(algorithm + "_") ? p.alias : null;
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        return aliasFor(keyType);
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return aliasFor(keyType);
    }

    @Override
    public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
        return chooseClientAlias(keyTypes, issuers, null);
    }

    @Override
    public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
        for (String t : keyTypes) {
            String alias = aliasFor(t);
            if (alias != null) {
                return alias;
            }
        }
        return null;
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        String alias = aliasFor(keyType);
        return alias == null ? null : new String[] {alias};
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        return getServerAliases(keyType, issuers);
    }

    private Pair lookup(String alias) {
        Pair p = pair;
        if (p.alias.equals(alias)) {
            return p;
        }
        Pair before = previous;
        return before != null && before.alias.equals(alias) ? before : null;
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        Pair p = lookup(alias);
        return p == null ? null : p.chain.clone();
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        Pair p = lookup(alias);
        return p == null ? null : p.key;
    }
}
