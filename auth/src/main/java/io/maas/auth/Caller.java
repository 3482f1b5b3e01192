package io.maas.auth;

/**
 * An authenticated caller.
 *
 * @param tenant  who is billed, authorized and throttled: the API key's tenant, the JWT's tenant
 *                claim, or the client certificate's identity
 * @param via     which credential proved it
 */
public record Caller(String tenant, CredentialKind via) {
    public static final Caller ANONYMOUS = new Caller("anonymous", CredentialKind.NONE);
}
