package io.agentd.agent.session;

import java.util.function.LongConsumer;

/**
 * One session's share of the stdin budget: the bytes queued for its child and, when its host asked
 * for flow control, the credit granted and not used yet. Invariant: queued + credit <= window, and
 * both are held in the {@link StdinBudget}, so data sent within credit always has room.
 *
 * <p>A session without flow control (an old host) has no credit: each frame is admitted while the
 * session's queue limit and the budget have room for it.
 *
 * <p>Credit is topped up to the window, in one grant, once queued + credit falls to half of it:
 * a host streaming to a child that keeps up gets one credit frame per half window, not one per write.
 *
 * <p>A session's window starts at {@link #FIRST_WINDOW} and doubles each time its child has read a
 * window's worth, up to the configured window (TCP's receive window grows the same way). Granted
 * credit cannot be taken back, so a full window for every session would let idle ones (an
 * interactive shell waiting for a key) hold the whole budget: 64 shells at the default 1 MiB held all
 * of --stdin-total's 64 MiB, and the 65th session got no credit at all until one ended. Started
 * small, an idle session holds 64 KiB, and a stream reaches the full window after its first MiB.
 */
final class StdinWindow {
    /** Why a frame of stdin data was not admitted. */
    enum Refusal { NONE, PAST_CREDIT, SESSION_FULL, ALL_FULL }

    /** The window a flow-controlled session (of {@link #forSession}) starts with. */
    static final long FIRST_WINDOW = 64 * 1024;

    private final StdinBudget budget;
    /** The flow-control window; 0 for a session without flow control (changes when another host attaches). */
    private long window;
    /** The window in force, at most {@link #window}: it grows as the child reads (see the class comment). */
    private long current;
    /** Bytes the child has read since {@link #current} last grew. */
    private long readSinceGrowth;
    /** Most bytes queued for a session without flow control (--stdin-limit). */
    private long queueLimit;
    /** The window and queue limit of each mode, for {@link #rehost}; 0 when not known (the old factories). */
    private long creditWindow;
    private long plainQueueLimit;
    /** Where grants go: the session sends them to the host as core.exec.stdin.credit. */
    private final LongConsumer onGrant;
    private long queued;
    private long credit;
    private boolean open;
    private boolean closed;

    private StdinWindow(StdinBudget budget, long window, long queueLimit, LongConsumer onGrant) {
        this.budget = budget;
        this.window = window;
        this.current = window;
        this.queueLimit = queueLimit;
        this.onGrant = onGrant;
    }

    /** A session whose host asked for flow control. */
    static StdinWindow withCredit(StdinBudget budget, long window, LongConsumer onGrant) {
        return new StdinWindow(budget, window, window, onGrant);
    }

    /** A session whose host sends without credit. */
    static StdinWindow withoutCredit(StdinBudget budget, long queueLimit) {
        return new StdinWindow(budget, 0, queueLimit, granted -> {});
    }

    /** A session with or without credit, that can change mode when another host attaches. */
    static StdinWindow forSession(StdinBudget budget, boolean flowControl, long window, long queueLimit,
            LongConsumer onGrant) {
        StdinWindow w = flowControl ? new StdinWindow(budget, window, window, onGrant)
                : new StdinWindow(budget, 0, queueLimit, onGrant);
        w.creditWindow = window;
        w.plainQueueLimit = queueLimit;
        w.current = flowControl ? Math.min(FIRST_WINDOW, window) : 0;
        return w;
    }

    /**
     * Another host is attached to the session (sessions extension): the credit granted to the last
     * host and not used goes back to the budget (that host is gone and will never send it), and the
     * new host's choice applies from here: with flow control, a fresh window is granted now (to the
     * new host), without, frames are admitted by the queue limit. Bytes already queued stay queued.
     */
    void rehost(boolean flowControl) {
        if (closed || creditWindow == 0) {
            return;
        }
        budget.leave(this);
        budget.release(credit);
        credit = 0;
        window = flowControl ? creditWindow : 0;
        current = Math.min(FIRST_WINDOW, window); // a new host's child may read at another pace
        readSinceGrowth = 0;
        queueLimit = flowControl ? creditWindow : plainQueueLimit;
        if (flowControl && open) {
            topUp();
        } else if (flowControl) {
            open();
        }
    }

    /**
     * The host is gone and the session runs on detached: the credit it was granted and did not use
     * goes back to the budget (nobody will send it; held, it would starve every later host's
     * window), and none is granted until a host attaches ({@link #rehost}). Bytes already queued
     * stay queued for the child.
     */
    void hostLeft() {
        rehost(false);
    }

    boolean flowControlled() {
        return window > 0;
    }

    /** The session started: grant the initial window (all of it, or what the budget has). */
    void open() {
        if (flowControlled() && !open && !closed) {
            open = true;
            topUp();
        }
    }

    /** Accounts for {@code n} bytes of stdin data arriving; NONE when they may be queued. */
    Refusal admit(long n) {
        if (closed) {
            return Refusal.SESSION_FULL;
        }
        if (flowControlled()) {
            if (n > credit) {
                return Refusal.PAST_CREDIT;
            }
            credit -= n; // already held in the budget
        } else {
            if (queued + n > queueLimit) {
                return Refusal.SESSION_FULL;
            }
            if (!budget.tryTake(n)) {
                return Refusal.ALL_FULL;
            }
        }
        queued += n;
        return Refusal.NONE;
    }

    /** The child took {@code n} queued bytes: they go back to the budget, and credit may follow. */
    void consumed(long n) {
        if (closed || n == 0) {
            return;
        }
        queued -= n;
        budget.release(n);
        if (!open) {
            return;
        }
        readSinceGrowth += n;
        if (readSinceGrowth >= current && current < window) {
            current = Math.min(window, current * 2);
            readSinceGrowth = 0;
        }
        if (queued + credit <= current / 2) {
            topUp();
        }
    }

    /** The session's stdin is done (closed, or the session ended): everything goes back to the budget. */
    void close() {
        if (closed) {
            return;
        }
        closed = true;
        budget.leave(this);
        long held = queued + credit;
        queued = 0;
        credit = 0;
        budget.release(held);
    }

    private void topUp() {
        long granted = budget.reserve(this, wanted());
        grant(granted);
    }

    /** Credit that would fill the window again. */
    long wanted() {
        // Never below 0: after a change to flow control, more may be queued than the window holds.
        return closed || !open ? 0 : Math.max(0, current - queued - credit);
    }

    /** Called by the budget with credit reserved for this window. */
    void grant(long granted) {
        if (granted > 0) {
            credit += granted;
            onGrant.accept(granted);
        }
    }

    long queued() {
        return queued;
    }

    long credit() {
        return credit;
    }

    long window() {
        return window;
    }

    /** The window in force now (see the class comment). */
    long current() {
        return current;
    }
}
