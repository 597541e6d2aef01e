package io.agentd.agent.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.loop.ScriptedLoop;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The deadline of a frame left unfinished, on a scripted clock. */
class PartialFrameDeadlineTest {
    private static final long TIMEOUT = 100;
    private final ScriptedLoop loop = new ScriptedLoop();
    private boolean partial;
    private boolean reading = true;
    private boolean large;
    private long largeBytes;
    private long largeBegun;
    private final List<Long> expired = new ArrayList<>();
    private final PartialFrameDeadline deadline = deadline(TIMEOUT);

    private PartialFrameDeadline deadline(long timeoutMillis) {
        return new PartialFrameDeadline(loop, timeoutMillis, new PartialFrameDeadline.Subject() {
            @Override
            public boolean holdsPartialFrame() {
                return partial;
            }

            @Override
            public boolean reading() {
                return reading;
            }

            @Override
            public boolean midLargeFrame() {
                return large;
            }

            @Override
            public long largeFrameBytes() {
                return largeBytes;
            }

            @Override
            public long largeFramesBegun() {
                return largeBegun;
            }

            @Override
            public void expired(long idleMillis) {
                expired.add(idleMillis);
            }
        }, loop::nanoTime);
    }

    /** The host sends bytes that leave a frame unfinished (or finish it, with {@code partialAfter} false). */
    private void bytesCame(boolean partialAfter) {
        partial = partialAfter;
        deadline.progressed();
    }

    @Test
    void aFrameLeftUnfinishedForTheTimeoutExpiresOnce() {
        bytesCame(true);
        loop.advance(TIMEOUT - 1);
        assertTrue(expired.isEmpty());
        loop.advance(1);
        assertEquals(List.of(TIMEOUT), expired);
        loop.advance(10 * TIMEOUT);
        assertEquals(1, expired.size(), "expired once; the link drops the host");
    }

    @Test
    void everyByteStartsTheHostsTimeOver() {
        bytesCame(true);
        for (int i = 0; i < 10; i++) {
            loop.advance(TIMEOUT - 10);
            bytesCame(true); // a slow host that keeps sending is never cut off
        }
        assertTrue(expired.isEmpty());
        loop.advance(TIMEOUT);
        assertEquals(1, expired.size());
    }

    /** {@code bytes} more of a large frame came (it stays partial: a large frame is long). */
    private void largeFrameBytesCame(long bytes) {
        large = true;
        largeBytes += bytes;
        bytesCame(true);
    }

    /** A large frame begins with {@code bytes} (in the read that may end the frame before it). */
    private void largeFrameBegan(long bytes) {
        largeBegun++;
        largeFrameBytesCame(bytes);
    }

    /**
     * A large frame holds its whole length of the budget: a byte now and then does not start the
     * host's time over, only 64 KiB more does. Before, one byte per timeout kept the share for ever.
     */
    @Test
    void aLargeFrameTrickledAByteAtATimeExpires() {
        largeFrameBegan(100); // the host's time starts
        for (int i = 0; i < 5; i++) {
            loop.advance(TIMEOUT / 5);
            largeFrameBytesCame(1);
        }
        assertEquals(List.of(TIMEOUT), expired, "expired a timeout after the frame began, bytes or not");
    }

    @Test
    void aLargeFrameThatMovesIsNeverCutOff() {
        largeFrameBegan(100);
        for (int i = 0; i < 20; i++) {
            loop.advance(TIMEOUT - 10);
            largeFrameBytesCame(PartialFrameDeadline.LARGE_FRAME_PROGRESS_BYTES); // slow, but it moves
        }
        assertTrue(expired.isEmpty(), expired.toString());
    }

    /** A large frame begun after the host idled between frames gets its whole timeout from its first byte. */
    @Test
    void aLargeFrameBegunAfterAnIdleSpellGetsItsWholeTimeout() {
        bytesCame(true);
        bytesCame(false); // a small frame, whole
        loop.advance(TIMEOUT - 1); // idle between frames
        largeFrameBegan(100);
        loop.advance(TIMEOUT - 1);
        assertTrue(expired.isEmpty(), "its time began with its first bytes");
        loop.advance(1);
        assertEquals(1, expired.size());
    }

    /**
     * A large frame that begins in the read ending the frame before it (the host paused inside
     * that one, as it may) also gets its whole timeout from its first bytes, and so does one that
     * begins in the read ending a large frame that had moved little since its last 64 KiB.
     */
    @Test
    void aLargeFrameBegunInTheReadThatEndsTheFrameBeforeGetsItsWholeTimeout() {
        bytesCame(true); // a small frame, cut short
        loop.advance(TIMEOUT - 1); // the host pauses inside it
        largeFrameBegan(10 * 1024); // the small frame's end and a large one's start
        loop.advance(TIMEOUT - 1);
        assertTrue(expired.isEmpty(), "its time began with its first bytes");

        largeFrameBegan(10 * 1024); // the first large frame's last bytes and a second one's start
        loop.advance(TIMEOUT - 1);
        assertTrue(expired.isEmpty(), "the second one's time began with its first bytes too");
        loop.advance(1);
        assertEquals(1, expired.size());
    }

    /**
     * A large frame whose header waited for the budget (the agent not reading), then got its room
     * while the host's input stayed paused by backpressure (no read, so no progressed()): its time
     * starts when it began, at the check. Before, the check measured from the last reset the agent's
     * own pause made, and the frame could be dropped a moment after it got its room.
     */
    @Test
    void aLargeFrameThatBeganWithNoReadGetsItsWholeTimeout() {
        bytesCame(true); // its first bytes, held: the budget has no room
        reading = false; // waiting for the budget: not the host's time
        loop.advance(TIMEOUT + 50); // the check at TIMEOUT restarted the clock and re-armed
        large = true; // room came: the frame is reserved and begins, its bytes admitted without a read
        largeBegun++;
        largeBytes += 10;
        reading = true; // only backpressure holds the input now: the host's time
        loop.advance(TIMEOUT - 50); // the check re-armed at 2 x TIMEOUT
        assertTrue(expired.isEmpty(), "the frame began just now: " + expired);
        loop.advance(TIMEOUT);
        assertEquals(1, expired.size(), "a timeout after it began, with no 64 KiB of it");
    }

    @Test
    void anIdleHostBetweenFramesIsLeftAlone() {
        bytesCame(true);
        loop.advance(50);
        bytesCame(false); // the frame is whole
        loop.advance(100 * TIMEOUT);
        assertTrue(expired.isEmpty());
        assertFalse(deadline.armed(), "nothing pending between frames");
        bytesCame(true); // the next frame starts its own deadline
        loop.advance(TIMEOUT);
        assertEquals(1, expired.size());
    }

    @Test
    void timeTheAgentDoesNotReadIsNotTheHosts() {
        bytesCame(true);
        reading = false; // e.g. the frame waits for the large-frame budget
        loop.advance(10 * TIMEOUT);
        assertTrue(expired.isEmpty());
        reading = true;
        deadline.progressed(); // the link reads again
        loop.advance(TIMEOUT - 1);
        assertTrue(expired.isEmpty(), "the host gets its whole timeout after reading resumes");
        loop.advance(1);
        assertEquals(1, expired.size());
    }

    @Test
    void stopAndZeroMeanNoDeadline() {
        bytesCame(true);
        deadline.stop();
        loop.advance(10 * TIMEOUT);
        assertTrue(expired.isEmpty());
        assertEquals(0, loop.pendingTimers());

        PartialFrameDeadline never = deadline(0);
        partial = true;
        never.progressed();
        assertFalse(never.armed());
    }
}
