package io.agentd.client;

import java.io.InterruptedIOException;
import java.util.concurrent.TimeoutException;

/**
 * How much stdin data one session may still send: the agent's credits (core.exec.stdin.credit)
 * minus the data bytes sent. Writers take bytes from the balance before they send them and wait
 * while it is empty; the reader thread adds credit without ever waiting. Once the session can take
 * no more input (it ended, the connection is gone, the agent refused some of it), every writer,
 * waiting or not, fails with the reason.
 *
 * <p>A session of an agent without flow control has an unlimited window: writers never wait, but
 * still fail once input can no longer be delivered.
 */
final class StdinWindow {
    private final boolean limited;
    /** Runs before each wait; throws to refuse it (see {@link AgentConnection#refuseWaitOnReader}). */
    private final Runnable beforeWait;
    private long balance; // guarded by this
    private AgentException closedBy; // guarded by this

    private StdinWindow(boolean limited, Runnable beforeWait) {
        this.limited = limited;
        this.beforeWait = beforeWait;
    }

    /** A window that starts empty and grows with the agent's credits. */
    static StdinWindow granted() {
        return granted(() -> { });
    }

    /** {@link #granted()} that runs {@code beforeWait} (which may throw to refuse) before each wait. */
    static StdinWindow granted(Runnable beforeWait) {
        return new StdinWindow(true, beforeWait);
    }

    /** No flow control: any amount may be sent at once. */
    static StdinWindow unlimited() {
        return new StdinWindow(false, () -> { });
    }

    boolean isLimited() {
        return limited;
    }

    /**
     * Credit from the agent, a u64 held as its unsigned value (so a negative long is 2^63 or more);
     * called on the reader thread, never waits.
     */
    synchronized void grant(long bytes) {
        if (!limited || bytes == 0) {
            return;
        }
        // saturate rather than wrap into a negative balance
        boolean overflows = bytes < 0 || bytes > Long.MAX_VALUE - balance;
        balance = overflows ? Long.MAX_VALUE : balance + bytes;
        notifyAll();
    }

    /**
     * Takes up to {@code wanted} bytes (at least 1) from the balance, waiting while it is empty.
     *
     * @param deadlineNanos a {@link System#nanoTime} to give up at, or {@link Timeouts#NO_DEADLINE} for none
     * @return how many bytes the caller may now send, 1..wanted
     * @throws AgentException          no more input can be delivered (why: the exception's type)
     * @throws InterruptedIOException  the waiting thread was interrupted (its flag is set again)
     * @throws TimeoutException        the deadline passed with the balance still empty
     */
    synchronized int acquire(int wanted, long deadlineNanos)
            throws AgentException, InterruptedIOException, TimeoutException {
        while (true) {
            if (closedBy != null) {
                throw closedBy.forCaller(); // recorded by the reader thread, met by every writer
            }
            if (!limited) {
                return wanted;
            }
            if (balance > 0) {
                int n = (int) Math.min(wanted, balance);
                balance -= n;
                return n;
            }
            long waitNanos = deadlineNanos == Timeouts.NO_DEADLINE ? 0 : deadlineNanos - System.nanoTime();
            if (deadlineNanos != Timeouts.NO_DEADLINE && waitNanos <= 0) {
                throw new TimeoutException("no stdin credit from the agent in time");
            }
            beforeWait.run();
            try {
                if (deadlineNanos == Timeouts.NO_DEADLINE) {
                    wait();
                } else {
                    wait(waitNanos / 1_000_000, (int) (waitNanos % 1_000_000));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                InterruptedIOException interrupted =
                        new InterruptedIOException("interrupted while waiting for stdin credit");
                interrupted.initCause(e);
                throw interrupted;
            }
        }
    }

    /** No more input can be delivered: every writer fails with {@code why} (the first reason stays). */
    synchronized void close(AgentException why) {
        if (closedBy == null) {
            closedBy = why;
            notifyAll();
        }
    }
}
