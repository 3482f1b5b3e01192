package io.maas.auth;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PublicKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Where the issuer's signing keys come from: a JWKS file (reloaded when it changes) or a URL
 * fetched in the background and refreshed periodically, and sooner when a token names a key id
 * the set does not have (key rotation). Calls never wait for a fetch: until keys are known, tokens
 * are refused with the reason.
 */
public interface JwksSource {

    /** The key for {@code kid}, or null (an unknown kid also asks a URL source to refresh). */
    PublicKey key(String kid);

    /** Why no key is known yet, for the refusal's message; null once keys are known. */
    String unavailableReason();

    static JwksSource file(Path file, long reloadMillis) {
        Reloading<Jwks> jwks = new Reloading<>(file, Jwks::parse, reloadMillis);
        return new JwksSource() {
            @Override
            public PublicKey key(String kid) {
                return jwks.get().key(kid);
            }

            @Override
            public String unavailableReason() {
                return null;
            }
        };
    }

    /**
     * @param caFile    PEM CA bundle that signs the URL's server certificate (the cluster CA for the
     *                  API server's {@code /openid/v1/jwks}), or null for the JVM's
     * @param tokenFile a bearer token file sent with the fetch (a pod's ServiceAccount token), or null
     */
    static JwksSource url(URI url, Path caFile, Path tokenFile, Duration refresh) {
        return new Fetched(url, caFile, tokenFile, refresh);
    }

    /** Keys fetched from a URL by a daemon thread. */
    final class Fetched implements JwksSource {
        private static final System.Logger LOG = System.getLogger(JwksSource.class.getName());
        private static final long MIN_REFETCH_NANOS = TimeUnit.SECONDS.toNanos(10);

        private final URI url;
        private final Path tokenFile;
        private final HttpClient http;
        private final ScheduledExecutorService refresher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "jwks-refresh");
            t.setDaemon(true);
            return t;
        });
        private final AtomicBoolean refetchQueued = new AtomicBoolean();
        private volatile Jwks jwks;
        private volatile String failure = "not fetched yet";
        private volatile long fetchedAt = System.nanoTime() - MIN_REFETCH_NANOS;

        Fetched(URI url, Path caFile, Path tokenFile, Duration refresh) {
            this.url = url;
            this.tokenFile = tokenFile;
            HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5));
            if (caFile != null) {
                b.sslContext(trusting(caFile));
            }
            this.http = b.build();
            refresher.execute(this::fetch);
            refresher.scheduleWithFixedDelay(this::fetch, refresh.toMillis(), refresh.toMillis(), TimeUnit.MILLISECONDS);
        }

        @Override
        public PublicKey key(String kid) {
            Jwks k = jwks;
            PublicKey key = k == null ? null : k.key(kid);
            if (key == null && System.nanoTime() - fetchedAt > MIN_REFETCH_NANOS && refetchQueued.compareAndSet(false, true)) {
                refresher.execute(this::fetch);
            }
            return key;
        }

        @Override
        public String unavailableReason() {
            return jwks == null ? "the issuer's keys could not be fetched from " + url + " (" + failure + ")" : null;
        }

        private void fetch() {
            refetchQueued.set(false);
            fetchedAt = System.nanoTime();
            try {
                HttpRequest.Builder req = HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(10)).GET();
                if (tokenFile != null) {
                    req.header("authorization", "Bearer " + Files.readString(tokenFile).strip());
                }
                HttpResponse<byte[]> resp = http.send(req.build(), HttpResponse.BodyHandlers.ofByteArray());
                if (resp.statusCode() != 200) {
                    throw new IOException("HTTP " + resp.statusCode());
                }
                jwks = Jwks.parse(url.toString(), resp.body());
                failure = null;
            } catch (IOException | RuntimeException e) {
                failure = e.getMessage();
                LOG.log(System.Logger.Level.WARNING, "cannot fetch JWKS from {0}: {1}", url, e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        private static SSLContext trusting(Path caFile) {
            try (InputStream in = Files.newInputStream(caFile)) {
                KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
                ks.load(null, null);
                int i = 0;
                for (var cert : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                    ks.setCertificateEntry("ca-" + i++, (X509Certificate) cert);
                }
                TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                tmf.init(ks);
                SSLContext ctx = SSLContext.getInstance("TLS");
                ctx.init(null, tmf.getTrustManagers(), null);
                return ctx;
            } catch (IOException | java.security.GeneralSecurityException e) {
                throw new IllegalArgumentException("cannot read the JWKS CA bundle " + caFile + ": " + e.getMessage(), e);
            }
        }
    }
}
