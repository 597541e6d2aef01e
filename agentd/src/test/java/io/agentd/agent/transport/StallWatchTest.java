package io.agentd.agent.transport;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.loop.ScriptedLoop;
import org.junit.jupiter.api.Test;

/** The stall warning on a scripted clock. */
class StallWatchTest {
    private final ScriptedLoop loop = new ScriptedLoop();
    private boolean waits;
    private final StallWatch watch = new StallWatch(loop, 100, new StallWatch.Subject() {
        @Override
        public boolean outputWaits() {
            return waits;
        }

        @Override
        public long queuedBytes() {
            return 42;
        }

        @Override
        public boolean outputAllowed() {
            return true;
        }
    }, loop::nanoTime, new HostEventLog(loop));

    private void queue() {
        waits = true;
        watch.outputWaiting();
    }

    private void drain() {
        waits = false;
        watch.drained();
    }

    @Test
    void aHostThatTakesNothingForThePeriodIsReportedOnceUntilItTakesOutputAgain() {
        queue();
        loop.advance(99);
        assertFalse(watch.reported());
        loop.advance(1);
        assertTrue(watch.reported());
        loop.advance(500);
        assertTrue(watch.reported());
        watch.progressed();
        assertFalse(watch.reported());
    }

    @Test
    void timeTheQueueWasEmptyDoesNotCountAsAStall() {
        queue();
        loop.advance(5);
        drain();
        loop.advance(94);
        queue(); // output waits again just before the check left over from the first wait
        loop.advance(1);
        assertFalse(watch.reported(), "1 ms of waiting is no stall");
        loop.advance(100);
        assertTrue(watch.reported());
    }

    @Test
    void aHostThatGoesAwayEndsTheWatch() {
        queue();
        watch.stop();
        loop.advance(1000);
        assertFalse(watch.reported());
        assertFalse(loop.pendingTimers() > 0);
    }

    /**
     * A host that took output just before a check, then nothing: it is reported one period after
     * it last took output, not at the check after next (a log review: a stall of 8 s with the
     * default 5 s went unreported, a 12 s one was reported at 10 s).
     */
    @Test
    void aStallIsReportedOnePeriodAfterTheLastOutputTaken() {
        queue();
        loop.advance(90);
        watch.progressed(); // then nothing more
        loop.advance(10); // the first check: 10 ms idle
        assertFalse(watch.reported());
        loop.advance(89);
        assertFalse(watch.reported());
        loop.advance(1); // 100 ms after the last output taken
        assertTrue(watch.reported());
    }
}
