package io.maas.router.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Version choice precedence: explicit version, pin header, canary header, sticky key, weighted split. */
class VersionChooserTest {

    final Route route = new Route("m", "1", "2", 30, 7);

    @Test
    void precedence() {
        assertEquals("5", VersionChooser.choose(route, "5", "2", "always", "k").version());
        assertEquals("other", VersionChooser.choose(route, "5", null, null, null).track());
        assertEquals("2", VersionChooser.choose(route, "", "2", "never", null).version());
        assertEquals("canary", VersionChooser.choose(route, "", "2", null, null).track());
        assertEquals("2", VersionChooser.choose(route, "", null, "always", null).version());
        assertEquals("1", VersionChooser.choose(route, "", null, "never", null).version());
        assertNull(VersionChooser.choose(null, "", null, null, null));
        assertEquals("1", VersionChooser.choose(new Route("m", "1", "2", 0, 1), "", null, "always", null).version(),
                "a canary at weight 0 is no canary");
    }

    @Test
    void stickyKeysKeepTheirVersionAndRaisingTheWeightOnlyMovesKeysOntoTheCanary() {
        int onCanary = 0;
        for (int k = 0; k < 1000; k++) {
            String key = "user-" + k;
            String at30 = VersionChooser.choose(route, "", null, null, key).version();
            assertEquals(at30, VersionChooser.choose(route, "", null, null, key).version());
            String at60 = VersionChooser.choose(new Route("m", "1", "2", 60, 8), "", null, null, key).version();
            if (at30.equals("2")) {
                onCanary++;
                assertEquals("2", at60, key);
            }
        }
        assertTrue(onCanary > 230 && onCanary < 370, "keys on the canary at 30%: " + onCanary);
    }

    @Test
    void bucketsSpreadEvenly() {
        int[] hits = new int[100];
        for (int k = 0; k < 100_000; k++) {
            hits[VersionChooser.bucket("m", "k" + k)]++;
        }
        for (int h : hits) {
            assertTrue(h > 800 && h < 1200, "bucket count " + h);
        }
    }
}
