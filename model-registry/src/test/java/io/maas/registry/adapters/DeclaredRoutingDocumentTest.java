package io.maas.registry.adapters;

import io.maas.registry.domain.RegistryException;
import io.maas.registry.domain.RoutingSpec;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DeclaredRoutingDocumentTest {

    @Test
    void parsesTheHelmShape() {
        var yaml = """
                models:
                  - name: minilm
                    stable: "1"
                    canary: "2"     # optional
                    weight: 10
                  - name: simple
                    stable: 3
                """;
        assertEquals(List.of(new RoutingSpec("minilm", "1", "2", 10), new RoutingSpec("simple", "3", "", 0)),
                DeclaredRoutingDocument.parse(yaml, "test"));
    }

    @Test
    void emptyDocumentsDeclareNothing() {
        assertEquals(List.of(), DeclaredRoutingDocument.parse("", "test"));
        assertEquals(List.of(), DeclaredRoutingDocument.parse("models: []", "test"));
    }

    @Test
    void malformedDocumentsAreRefusedWhole() {
        for (var bad : List.of("models: {a: 1}", "- x", "models:\n  - stable: '1'", "models:\n  - name: a\n    stable: '1'\n    weight: ten",
                "models:\n  - name: a\n    stable: '1'\n  - name: a\n    stable: '2'", "models:\n  - name: a", "models: [")) {
            var e = assertThrows(RegistryException.class, () -> DeclaredRoutingDocument.parse(bad, "cm"), bad);
            assertEquals(RegistryException.Kind.INVALID_ARGUMENT, e.kind());
            assertTrue(e.getMessage().startsWith("cm: "), e.getMessage());
        }
    }
}
