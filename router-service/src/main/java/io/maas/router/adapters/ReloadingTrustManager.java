package io.maas.router.adapters;

import java.net.Socket;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Verifies peer certificates against a PEM CA bundle that {@link #reload()} reads again when it
 * changes (the JDK's PKIX checks do the work). A refused certificate is logged with the peer, its
 * subject and the reason, at most every few seconds, because the peer itself usually only sees a
 * closed connection. With {@code serverName} set, a server's certificate must name it rather than the
 * address dialled: the router dials pods by IP, and pod certificates name the inference Service.
 */
final class ReloadingTrustManager extends X509ExtendedTrustManager implements TlsFiles.Watched {
    private static final System.Logger LOG = System.getLogger(ReloadingTrustManager.class.getName());
    private static final long LOG_EVERY_NANOS = 5_000_000_000L;

    private record Bundle(X509ExtendedTrustManager delegate, int size, String fingerprint) {
    }

    private final String setting;
    private final Path file;
    private final String serverName;
    private volatile Bundle bundle;
    private final AtomicLong lastLog = new AtomicLong(System.nanoTime() - LOG_EVERY_NANOS);

    ReloadingTrustManager(String setting, Path file, String serverName) {
        this.setting = setting;
        this.file = file;
        this.serverName = serverName;
        this.bundle = read(TlsFiles.fingerprint(file));
    }

    private Bundle read(String fingerprint) {
        List<X509Certificate> cas = PemFiles.certificates(setting, file);
        try {
            KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
            store.load(null, null);
            for (int i = 0; i < cas.size(); i++) {
                store.setCertificateEntry("ca-" + i, cas.get(i));
            }
            TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            factory.init(store);
            for (TrustManager tm : factory.getTrustManagers()) {
                if (tm instanceof X509ExtendedTrustManager x) {
                    return new Bundle(x, cas.size(), fingerprint);
                }
            }
            throw new IllegalStateException(setting + ": the JDK offers no X509ExtendedTrustManager");
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new IllegalStateException(setting + ": cannot build a trust store from " + file + ": " + e, e);
        }
    }

    @Override
    public void reload() {
        try {
            String now = TlsFiles.fingerprint(file);
            if (!now.equals(bundle.fingerprint)) {
                bundle = read(now);
                LOG.log(System.Logger.Level.INFO, "{0}: now trusting the {1} CA certificate(s) in {2}", setting, bundle.size, file);
            }
        } catch (IllegalStateException e) {
            LOG.log(System.Logger.Level.WARNING, "{0}: keeping the CA bundle in use: {1}", setting, e.getMessage());
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        try {
            bundle.delegate.checkClientTrusted(chain, authType, engine);
        } catch (CertificateException e) {
            throw refused("client", engine == null ? null : engine.getPeerHost() + ":" + engine.getPeerPort(), chain, e);
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        String peer = engine == null ? null : engine.getPeerHost() + ":" + engine.getPeerPort();
        try {
            if (serverName == null) {
                bundle.delegate.checkServerTrusted(chain, authType, engine); // PKIX and the peer's host (IP) as dialled
            } else {
                bundle.delegate.checkServerTrusted(chain, authType); // PKIX; the name is checked here instead of the IP
                checkName(chain);
            }
        } catch (CertificateException e) {
            throw refused("server", peer, chain, e);
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        try {
            bundle.delegate.checkClientTrusted(chain, authType, socket);
        } catch (CertificateException e) {
            throw refused("client", socket == null ? null : String.valueOf(socket.getRemoteSocketAddress()), chain, e);
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        try {
            if (serverName == null) {
                bundle.delegate.checkServerTrusted(chain, authType, socket);
            } else {
                bundle.delegate.checkServerTrusted(chain, authType);
                checkName(chain);
            }
        } catch (CertificateException e) {
            throw refused("server", socket == null ? null : String.valueOf(socket.getRemoteSocketAddress()), chain, e);
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        checkClientTrusted(chain, authType, (SSLEngine) null);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        checkServerTrusted(chain, authType, (SSLEngine) null);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return bundle.delegate.getAcceptedIssuers();
    }

    /** The server name (exact, or a {@code *.} wildcard of one label) among the leaf's DNS names. */
    private void checkName(X509Certificate[] chain) throws CertificateException {
        String want = serverName.toLowerCase(Locale.ROOT);
        try {
            var names = chain[0].getSubjectAlternativeNames();
            if (names != null) {
                for (List<?> n : names) {
                    if (Integer.valueOf(2).equals(n.get(0))) {
                        String dns = String.valueOf(n.get(1)).toLowerCase(Locale.ROOT);
                        if (dns.equals(want) || (dns.startsWith("*.") && want.indexOf('.') > 0
                                && want.substring(want.indexOf('.')).equals(dns.substring(1)))) {
                            return;
                        }
                    }
                }
            }
        } catch (CertificateParsingException e) {
            throw new CertificateException("cannot read the certificate's names: " + e.getMessage(), e);
        }
        throw new CertificateException("the certificate does not name " + serverName + " (its DNS names: "
                + dnsNames(chain[0]) + ")");
    }

    private static String dnsNames(X509Certificate cert) {
        try {
            var names = cert.getSubjectAlternativeNames();
            return names == null ? "none" : names.stream().filter(n -> Integer.valueOf(2).equals(n.get(0)))
                    .map(n -> String.valueOf(n.get(1))).toList().toString();
        } catch (CertificateParsingException e) {
            return "unreadable";
        }
    }

    private CertificateException refused(String role, String peer, X509Certificate[] chain, CertificateException e) {
        long now = System.nanoTime();
        long last = lastLog.get();
        if (now - last >= LOG_EVERY_NANOS && lastLog.compareAndSet(last, now)) {
            Throwable root = e;
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            LOG.log(System.Logger.Level.WARNING, "TLS: refused the {0} certificate {1} of {2}: not trusted by {3} ({4}): {5}",
                    role, chain == null || chain.length == 0 ? "(none)" : chain[0].getSubjectX500Principal(),
                    peer == null ? "a peer" : peer, setting, file, root.getMessage());
        }
        return e;
    }
}
