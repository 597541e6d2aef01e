package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SessionIdsTest {

    @Test
    void idsCountUpFromWhereTheyStart() throws Exception {
        SessionIds ids = new SessionIds(1);
        assertEquals(1, ids.allocate(id -> false));
        assertEquals(2, ids.allocate(id -> false));
        assertEquals(3, ids.allocate(id -> false));
    }

    @Test
    void eachConnectionStartsAtItsOwnRandomU32Id() throws Exception {
        Set<Long> firsts = new HashSet<>();
        for (int i = 0; i < 100; i++) {
            long first = new SessionIds().allocate(id -> false);
            assertTrue(first >= 1 && first <= SessionIds.MAX_ID, "id " + first);
            firsts.add(first);
        }
        // Counting from a fixed start would give one value; 100 random u32s repeat with odds ~1e-6.
        assertTrue(firsts.size() >= 99, "first ids: " + firsts);
    }

    @Test
    void liveIdsAreSkipped() throws Exception {
        SessionIds ids = new SessionIds(1);
        Set<Long> live = Set.of(1L, 2L, 4L);
        assertEquals(3, ids.allocate(live::contains));
        assertEquals(5, ids.allocate(live::contains));
    }

    @Test
    void afterTheLargestU32IdComesOneNeverZero() throws Exception {
        SessionIds ids = new SessionIds(SessionIds.MAX_ID - 1);
        assertEquals(SessionIds.MAX_ID - 1, ids.allocate(id -> false));
        assertEquals(SessionIds.MAX_ID, ids.allocate(id -> false));
        assertEquals(1, ids.allocate(id -> false));
    }

    /** 2^32 - 1 is in no range a flow notice can name: never handed out. */
    @Test
    void theLastU32IdIsNeverHandedOut() throws Exception {
        SessionIds ids = new SessionIds(0xFFFF_FFFEL);
        assertEquals(0xFFFF_FFFEL, ids.allocate(id -> false));
        assertEquals(1, ids.allocate(id -> false));
        assertThrows(IllegalArgumentException.class, () -> new SessionIds(0xFFFF_FFFFL));
    }

    @Test
    void theWrapSkipsIdsStillLive() throws Exception {
        SessionIds ids = new SessionIds(SessionIds.MAX_ID);
        Set<Long> live = Set.of(SessionIds.MAX_ID, 1L, 2L);
        assertEquals(3, ids.allocate(live::contains));
    }

    @Test
    void withinARangeIdsWrapToItsStartNeverOutOfIt() throws Exception {
        SessionIds ids = new SessionIds(19, 10, 20);
        assertEquals(19, ids.allocate(id -> false));
        assertEquals(10, ids.allocate(id -> false));
        assertEquals(11, ids.allocate(id -> false));
    }

    @Test
    void aRangeWhoseIdsAreAllLiveIsExhaustedNotWrappedIntoAnother() {
        SessionIds ids = new SessionIds(12, 10, 20);
        IdsExhaustedException e = assertThrows(IdsExhaustedException.class, () -> ids.allocate(id -> id >= 10 && id < 20));
        assertTrue(e.getMessage().contains("[10, 20)"), e.getMessage());
    }

    @Test
    void aRangeStartsAtARandomIdOfItsOwn() throws Exception {
        Set<Long> firsts = new HashSet<>();
        for (int i = 0; i < 50; i++) {
            long first = SessionIds.within(1_000, 1_000_000).allocate(id -> false);
            assertTrue(first >= 1_000 && first < 1_000_000, "id " + first);
            firsts.add(first);
        }
        assertTrue(firsts.size() >= 45, "first ids: " + firsts);
    }
}
