package io.agentd.agent.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** When the loop waits for a bulk writer's pipe to fill, on a clock the test moves. */
class BulkCoalescingTest {
    private static final long BULK = BulkCoalescing.BULK_AFTER;
    private static final int FEW = 8 * 1024;

    private long now = 1_000_000_000L;
    private int pauses;
    private final BulkCoalescing coalescing = new BulkCoalescing(() -> now, () -> {
        pauses++;
        now += BulkCoalescing.WAIT_NANOS;
    });

    @Test
    void aStreamingBulkWriterWithAFewKibWaitingIsWaitedFor() {
        assertTrue(coalescing.waitIfEarly(BULK, now - 10_000, FEW));
        assertEquals(1, pauses);
    }

    @Test
    void nothingElseWaits() {
        assertFalse(coalescing.waitIfEarly(BULK - 1, now - 10_000, FEW), "not a bulk writer yet");
        assertFalse(coalescing.waitIfEarly(BULK, now - 10_000, OutputPump.SPLICE_MIN), "a splice's worth is there");
        assertFalse(coalescing.waitIfEarly(BULK, now - 10_000, 0), "nothing there (an end of file is read at once)");
        assertFalse(coalescing.waitIfEarly(BULK, now - BulkCoalescing.STREAMING_GAP_NANOS, FEW),
                "quiet for a millisecond: not streaming");
        assertEquals(0, pauses);
    }

    @Test
    void theLoopWaitsAtMostOncePerWaitWhateverHowManyPipesAsk() {
        assertTrue(coalescing.waitIfEarly(BULK, now - 10_000, FEW));
        assertFalse(coalescing.waitIfEarly(BULK, now - 10_000, FEW), "another pipe right after: it had the wait too");
        now += BulkCoalescing.WAIT_NANOS;
        assertTrue(coalescing.waitIfEarly(BULK, now - 10_000, FEW));
        assertEquals(2, pauses);
    }
}
