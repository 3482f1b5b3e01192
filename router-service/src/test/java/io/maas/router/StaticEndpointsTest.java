package io.maas.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.maas.router.adapters.StaticEndpoints;
import io.maas.router.domain.ModelKey;

/** MAAS_STATIC_ENDPOINTS parsing, including the optional HTTP port of the REST twin. */
class StaticEndpointsTest {

    @Test
    void groupsTracksAndHttpPorts() {
        StaticEndpoints s = StaticEndpoints.parse("minilm:1=127.0.0.1:8101/8100,10.0.0.2:8101; minilm:2:canary=h:8201/8200");
        assertEquals(List.of("127.0.0.1:8101", "10.0.0.2:8101"), s.addresses().get(new ModelKey("minilm", "1")));
        assertEquals("canary", s.tracks().get(new ModelKey("minilm", "2")));
        assertEquals(Map.of("127.0.0.1:8101", "127.0.0.1:8100", "h:8201", "h:8200"), s.http());
    }

    @Test
    void malformedSpecsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> StaticEndpoints.parse("minilm=127.0.0.1:8101"));
        assertThrows(IllegalArgumentException.class, () -> StaticEndpoints.parse("minilm:1=127.0.0.1"));
        assertThrows(NumberFormatException.class, () -> StaticEndpoints.parse("minilm:1=127.0.0.1:8101/http"));
    }
}
