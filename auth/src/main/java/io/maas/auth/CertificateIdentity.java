package io.maas.auth;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/**
 * The identity a verified client certificate names: its URI SAN (a SPIFFE ID such as
 * {@code spiffe://cluster/ns/team/sa/app}) when it has one and {@code URI_SAN} is chosen, else its
 * subject CN. The TLS handshake already verified the chain against the configured client CA, so
 * the name is proven; which tenant it is allowed to act as is the policy's business.
 */
public enum CertificateIdentity {
    /** The subject's CN: client certificates name a principal, not a host. */
    CN,
    /** The first URI subject alternative name, falling back to the CN. */
    URI_SAN;

    private static final int SAN_URI = 6;

    public static CertificateIdentity of(String setting) {
        return switch (setting == null ? "" : setting.strip().toLowerCase(java.util.Locale.ROOT)) {
            case "", "cn" -> CN;
            case "uri-san", "uri_san", "san" -> URI_SAN;
            default -> throw new IllegalArgumentException("certificate identity '" + setting + "' is not cn or uri-san");
        };
    }

    public String of(X509Certificate leaf) {
        if (this == URI_SAN) {
            Optional<String> uri = uriSan(leaf);
            if (uri.isPresent()) {
                return uri.get();
            }
        }
        return commonName(leaf);
    }

    /** The last CN of the subject (RDNs come least specific first). */
    public static String commonName(X509Certificate leaf) {
        String dn = leaf.getSubjectX500Principal().getName();
        try {
            String cn = null;
            for (Rdn rdn : new LdapName(dn).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    cn = rdn.getValue().toString();
                }
            }
            if (cn == null || cn.isBlank()) {
                throw new AuthException(AuthException.Kind.UNAUTHENTICATED, "certificate-without-name",
                        "client certificate '" + dn + "' has no subject CN to name the caller");
            }
            return cn;
        } catch (InvalidNameException e) {
            throw new AuthException(AuthException.Kind.UNAUTHENTICATED, "certificate-without-name",
                    "client certificate subject '" + dn + "' cannot be read");
        }
    }

    private static Optional<String> uriSan(X509Certificate leaf) {
        try {
            var sans = leaf.getSubjectAlternativeNames();
            if (sans == null) {
                return Optional.empty();
            }
            for (List<?> san : sans) {
                if (san.size() >= 2 && Integer.valueOf(SAN_URI).equals(san.get(0))) {
                    return Optional.of(String.valueOf(san.get(1)));
                }
            }
            return Optional.empty();
        } catch (CertificateParsingException e) {
            return Optional.empty();
        }
    }
}
