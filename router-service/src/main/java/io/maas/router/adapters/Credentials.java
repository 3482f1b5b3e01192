package io.maas.router.adapters;

import io.maas.auth.Presented;

import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/** What a transport hands the front door: the credential headers and the verified client certificate. */
public final class Credentials {

    private Credentials() {
    }

    /** @param session the call's TLS session (null on plaintext); its peer certificate was verified by the handshake */
    public static Presented presented(String authorization, String apiKey, SSLSession session) {
        return new Presented(authorization, apiKey, leaf(session));
    }

    private static X509Certificate leaf(SSLSession session) {
        if (session == null) {
            return null;
        }
        try {
            Certificate[] chain = session.getPeerCertificates();
            return chain.length > 0 && chain[0] instanceof X509Certificate x ? x : null;
        } catch (SSLPeerUnverifiedException e) {
            return null; // no client certificate sent
        }
    }
}
