package io.maas.router.domain;

/**
 * What a forwarded call is, which decides what it counts toward.
 *
 * @param method metric label (ModelInfer, ModelMetadata, REST/infer, ...)
 * @param infer  an inference: evidence for the canary guard
 * @param shadow a mirrored call: one attempt, never in the call metrics, the canary window or draining
 */
public record CallKind(String method, boolean infer, boolean shadow) {

    public static CallKind primary(String method, boolean infer) {
        return new CallKind(method, infer, false);
    }

    public static final CallKind SHADOW = new CallKind("shadow", true, true);
}
