package io.agentd.agent.transport;

import io.agentd.agent.loop.Loop;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A link's wait for room in the {@link LargeFrameBudget}: a large frame the budget has no room for
 * stops the link reading its host until another link gives some back, and the bytes after it wait,
 * held ({@link FrameAdmission}). A wait that lasts is logged, at info and rate-limited over all
 * links ({@link StalledInputLog}): an operator's only clue to a host that stalls. Loop thread only.
 */
final class BudgetWait {
    private static final Logger log = LoggerFactory.getLogger(PortLink.class); // the links' lines

    /** A large frame that waits this long for the budget is logged (at info, rate-limited). */
    static final long LOG_AFTER_MILLIS = 1000;

    private final Loop loop;
    private final LargeFrameBudget budget;
    private final LongSupplier clock;
    private final StalledInputLog stalledInput;
    /** Runs (through the loop) when the large-frame budget has room again; one instance, to cancel it. */
    private final Runnable retry;
    /** Waiting for room in the large-frame budget: input is not read, the bytes held wait in the link. */
    private boolean waiting;
    /** Logs a wait for the budget that lasts; null unless waiting. */
    private Loop.Timer longWaitLine;
    private long waitingSinceNanos;

    /** @param onRoom runs in a later turn of the loop once the budget has room again */
    BudgetWait(Loop loop, LargeFrameBudget budget, LongSupplier clock, StalledInputLog stalledInput, Runnable onRoom) {
        this.loop = loop;
        this.budget = budget;
        this.clock = clock;
        this.stalledInput = stalledInput;
        this.retry = () -> loop.schedule(0, onRoom);
    }

    boolean waiting() {
        return waiting;
    }

    /** A large frame of the host {@code who}, on {@code fd}, has no room in the budget: the link waits for some. */
    void begin(String who, int fd) {
        waiting = true;
        budget.await(retry);
        log.debug("{}: host link on fd {}: a large frame waits for room in the large-frame budget", who, fd);
        if (longWaitLine == null) {
            waitingSinceNanos = clock.getAsLong();
            longWaitLine = loop.schedule(LOG_AFTER_MILLIS, () -> logLongWait(who, fd));
        }
    }

    /**
     * The wait has lasted: one line (rate-limited over all links) says why this host stalls. A
     * link's wait ends, its line cancelled, before its host is gone ({@link #cancel}), so one that
     * still waits has that host connected.
     */
    private void logLongWait(String who, int fd) {
        longWaitLine = null;
        if (waiting) {
            long now = clock.getAsLong();
            stalledInput.waitsForBudget(who, fd, (now - waitingSinceNanos) / 1_000_000);
        }
    }

    /** The link waits for the budget no more: room came. */
    void end() {
        waiting = false;
        if (longWaitLine != null) {
            longWaitLine.cancel();
            longWaitLine = null;
        }
    }

    /** The link's input is forgotten (its host gone or dropped): it waits no more, nor is it told of room. */
    void cancel() {
        budget.cancel(retry);
        end();
    }
}
