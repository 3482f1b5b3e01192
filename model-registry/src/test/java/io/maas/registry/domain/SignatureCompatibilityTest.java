package io.maas.registry.domain;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SignatureCompatibilityTest {

    private static TensorSpec t(String name, String type, Long... shape) {
        return new TensorSpec(name, type, List.of(shape));
    }

    @Test
    void sameSignatureIsCompatible() {
        var s = List.of(t("input_ids", "INT64", -1L, -1L), t("attention_mask", "INT64", -1L, -1L));
        assertTrue(SignatureCompatibility.problem(s, s).isEmpty());
    }

    @Test
    void canaryMayRelaxAFixedDimButNotFixAVariableOne() {
        assertTrue(SignatureCompatibility.problem(List.of(t("x", "FP32", -1L, 128L)), List.of(t("x", "FP32", -1L, -1L))).isEmpty());
        assertEquals("input 'x' has shape [-1, -1] in stable but [-1, 128] in canary (dim 1)",
                SignatureCompatibility.problem(List.of(t("x", "FP32", -1L, -1L)), List.of(t("x", "FP32", -1L, 128L))).orElseThrow());
    }

    @Test
    void namesDatatypesAndRanksMustMatch() {
        var stable = List.of(t("x", "FP32", -1L, 4L));
        assertEquals("canary has no input 'x'", SignatureCompatibility.problem(stable, List.of(t("y", "FP32", -1L, 4L))).orElseThrow());
        assertEquals("input 'x' is FP32 in stable but FP16 in canary",
                SignatureCompatibility.problem(stable, List.of(t("x", "FP16", -1L, 4L))).orElseThrow());
        assertTrue(SignatureCompatibility.problem(stable, List.of(t("x", "FP32", -1L))).orElseThrow().contains("shape"));
        assertEquals("canary expects input 'z' that stable clients do not send",
                SignatureCompatibility.problem(stable, List.of(t("x", "FP32", -1L, 4L), t("z", "FP32", 1L))).orElseThrow());
    }
}
