package io.agentd.agent.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.RelayClientRange;
import org.junit.jupiter.api.Test;

/** The held id ranges of one connection (relay flow control), as a state machine. */
class HeldIdsTest {
    private final HeldIds held = new HeldIds();

    private static RelayClientRange range(long start, long endExclusive) {
        return new RelayClientRange(start, endExclusive);
    }

    @Test
    void aRangeHoldsExactlyItsIdsUntilThatRangeIsReleased() {
        assertTrue(held.hold(range(100, 200)));
        assertFalse(held.test(99));
        assertTrue(held.test(100));
        assertTrue(held.test(199));
        assertFalse(held.test(200), "the end is exclusive");
        assertTrue(held.hold(range(100, 200)), "holding it again is no error");
        assertEquals(1, held.size());
        assertFalse(held.release(range(100, 150)), "only the range that was held is released");
        assertTrue(held.test(120));
        assertTrue(held.release(range(100, 200)));
        assertFalse(held.test(120));
        assertFalse(held.release(range(100, 200)), "a second resume does nothing");
    }

    @Test
    void aDepartureReleasesEveryRangeItOverlapsAndNoOther() {
        held.hold(range(1, 10));
        held.hold(range(10, 20));
        held.hold(range(30, 40));
        assertTrue(held.releaseOverlapping(range(5, 15)));
        assertFalse(held.test(5));
        assertFalse(held.test(15));
        assertTrue(held.test(35));
        assertFalse(held.releaseOverlapping(range(20, 30)), "touching is not overlapping");
        assertTrue(held.releaseAll());
        assertFalse(held.test(35));
        assertFalse(held.releaseAll());
    }

    @Test
    void aRelaysEveryClientRangeAndSevenSessionsOfEachClientFit() {
        // 128 clients of [k*1000+1, k*1000+1000), each paused by the relay and holding ids of its own.
        for (long k = 0; k < 128; k++) {
            long start = k * 1000 + 1;
            assertTrue(held.hold(range(start, start + 999)), "client " + k);
            for (long s = 1; s <= 7; s++) {
                assertTrue(held.hold(range(start + s, start + s + 1)), "client " + k + " session " + s);
            }
        }
        assertEquals(1024, held.size());
        assertTrue(held.release(range(5001, 6000)), "the relay resumes a client whose sessions stay held");
        assertTrue(held.test(5002));
        assertFalse(held.test(5009));
        assertTrue(held.releaseOverlapping(range(5001, 6000)), "the client's departure releases its sessions");
        assertFalse(held.test(5002));
        assertEquals(1016, held.size());
    }

    @Test
    void pastTheLimitANewRangeIsRefusedAndTheHeldOnesStay() {
        for (int k = 0; k < HeldIds.MAX_RANGES; k++) {
            assertTrue(held.hold(range(10L * k + 1, 10L * k + 11)));
        }
        assertFalse(held.hold(range(1_000_000, 1_000_010)));
        assertFalse(held.test(1_000_005));
        assertTrue(held.hold(range(1, 11)), "a range already held is still accepted");
        assertEquals(HeldIds.MAX_RANGES, held.size());
    }
}
