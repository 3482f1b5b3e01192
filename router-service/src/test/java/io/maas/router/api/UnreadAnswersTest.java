package io.maas.router.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/** The bound on unread answers, without connections: who is refused, who is closed. */
class UnreadAnswersTest {
    private int refused;
    private int evicted;
    private final UnreadAnswers unread = new UnreadAnswers(1000, () -> refused++, () -> evicted++);

    /** A connection holding {@code waiting} bytes, remembering whether it was closed. */
    private final class Conn implements UnreadAnswers.Holder {
        long waiting;
        final List<String> evicted = new ArrayList<>();

        Conn(long waiting) {
            this.waiting = waiting;
            unread.holding(this);
            unread.waiting(waiting);
        }

        @Override
        public long waiting() {
            return waiting;
        }

        @Override
        public void evict(String why) {
            evicted.add(why);
        }
    }

    @Test
    void aConnectionWithNothingWaitingIsAdmittedWhateverTheSize() {
        assertTrue(unread.admit(new Conn(0), 5000));
    }

    @Test
    void aConnectionPastItsQuarterIsRefused() {
        Conn c = new Conn(200);
        assertTrue(unread.admit(c, 50));
        assertFalse(unread.admit(c, 51));
        assertEquals(1, refused);
        assertTrue(unread.why(c, 51).contains("has not read") && unread.why(c, 51).contains("MAAS_MAX_ANSWER_BYTES_WAITING"));
    }

    @Test
    void whenTheWholeIsReachedTheConnectionHoldingTheMostIsClosedNotTheReader() {
        Conn small = new Conn(200);
        Conn most = new Conn(250);
        Conn other = new Conn(240);
        Conn fourth = new Conn(240);
        Conn reader = new Conn(0);
        // 930 held: an answer of 100 for a connection that has read everything passes the whole
        assertTrue(unread.admit(reader, 100));
        assertEquals(1, most.evicted.size());
        assertTrue(most.evicted.get(0).contains("MAAS_MAX_ANSWER_BYTES_WAITING"), most.evicted.get(0));
        assertTrue(small.evicted.isEmpty() && other.evicted.isEmpty() && fourth.evicted.isEmpty());
        assertEquals(1, evicted);
        assertEquals(0, refused);
    }

    @Test
    void theConnectionHoldingTheMostIsRefusedRatherThanClosingAnother() {
        Conn most = new Conn(200);
        for (int i = 0; i < 5; i++) {
            new Conn(190);
        }
        // within its quarter, but the whole is passed and no one holds more
        assertFalse(unread.admit(most, 40));
        assertEquals(0, evicted);
    }
}
