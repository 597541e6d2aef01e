package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The stdin balance on its own: arithmetic at the edges, deadlines, and closing. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class StdinWindowTest {

    @Test
    void takesNoMoreThanTheBalanceAndNoMoreThanWanted() throws Exception {
        StdinWindow w = StdinWindow.granted();
        w.grant(10);
        assertEquals(4, w.acquire(4, Timeouts.NO_DEADLINE));
        assertEquals(6, w.acquire(100, Timeouts.NO_DEADLINE));
        assertThrows(TimeoutException.class, () -> w.acquire(1, System.nanoTime() + 50_000_000));
    }

    @Test
    void creditsThatWouldOverflowSaturate() throws Exception {
        StdinWindow w = StdinWindow.granted();
        w.grant(Long.MAX_VALUE);
        w.grant(Long.MAX_VALUE); // must not wrap to a negative balance
        assertEquals(Integer.MAX_VALUE, w.acquire(Integer.MAX_VALUE, Timeouts.NO_DEADLINE));
        StdinWindow huge = StdinWindow.granted();
        huge.grant(-1); // the u64 2^64-1, as the codec holds it: all the credit there is, not a debit
        assertEquals(Integer.MAX_VALUE, huge.acquire(Integer.MAX_VALUE, Timeouts.NO_DEADLINE));
    }

    @Test
    void closingFailsWaitersAndLaterWritersWithTheFirstReason() throws Exception {
        StdinWindow w = StdinWindow.granted();
        AgentException first = new AgentException("first");
        Thread closer = new Thread(() -> {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                return;
            }
            w.close(first);
            w.close(new AgentException("second"));
        });
        closer.start();
        long t0 = System.nanoTime();
        assertSame(first, assertThrows(AgentException.class, () -> w.acquire(1, Timeouts.NO_DEADLINE)).getCause(),
                "thrown as a new exception caused by the first reason");
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5));
        w.grant(100);
        assertSame(first, assertThrows(AgentException.class, () -> w.acquire(1, Timeouts.NO_DEADLINE)).getCause(),
                "credit after the end");
    }

    @Test
    void anUnlimitedWindowNeverWaitsButStillCloses() throws Exception {
        StdinWindow w = StdinWindow.unlimited();
        assertEquals(1 << 20, w.acquire(1 << 20, Timeouts.NO_DEADLINE));
        AgentException why = new AgentException("refused");
        w.close(why);
        assertSame(why, assertThrows(AgentException.class, () -> w.acquire(1, Timeouts.NO_DEADLINE)).getCause());
    }
}
