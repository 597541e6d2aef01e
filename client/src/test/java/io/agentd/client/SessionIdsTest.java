package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Set;
import org.junit.jupiter.api.Test;

class SessionIdsTest {

    @Test
    void idsCountUpFromOne() {
        SessionIds ids = new SessionIds();
        assertEquals(1, ids.allocate(id -> false));
        assertEquals(2, ids.allocate(id -> false));
        assertEquals(3, ids.allocate(id -> false));
    }

    @Test
    void liveIdsAreSkipped() {
        SessionIds ids = new SessionIds();
        Set<Long> live = Set.of(1L, 2L, 4L);
        assertEquals(3, ids.allocate(live::contains));
        assertEquals(5, ids.allocate(live::contains));
    }

    @Test
    void afterTheLargestU32IdComesOneNeverZero() {
        SessionIds ids = new SessionIds(SessionIds.MAX_ID - 1);
        assertEquals(SessionIds.MAX_ID - 1, ids.allocate(id -> false));
        assertEquals(SessionIds.MAX_ID, ids.allocate(id -> false));
        assertEquals(1, ids.allocate(id -> false));
    }

    @Test
    void theWrapSkipsIdsStillLive() {
        SessionIds ids = new SessionIds(SessionIds.MAX_ID);
        Set<Long> live = Set.of(SessionIds.MAX_ID, 1L, 2L);
        assertEquals(3, ids.allocate(live::contains));
    }
}
