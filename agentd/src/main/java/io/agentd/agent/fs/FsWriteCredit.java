package io.agentd.agent.fs;

import io.agentd.agent.loop.ByteBudget;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecStdinCredit;

/**
 * What one Write ({@link FsWriteStream}) holds of the agent's Write budget, and the credit it
 * grants a host that asked for {@code window}. Such a host gets core.fs.credit: the first grant is
 * {@link FsSettings#writeWindow()}, and as buffers are written the credit is topped up again (once
 * what is queued plus what the host may still send falls to half the window), the scheme of
 * core.exec.stdin.credit. Credit is granted only within {@link FsBuffers#writes()} and within the
 * connection's share of it ({@link FsWriteShare}; a Write with none waits for room). A host without
 * flow control reserves its data here chunk by chunk, in the agent-wide budget. Loop thread only.
 */
final class FsWriteCredit {
    private final FsService service;
    private final long id;
    private final boolean window;
    /** What the Write may hold at once: the window, or the buffer of a host without flow control. */
    private final long limit;
    /** The agent-wide budget of Write data ({@link FsBuffers#writes()}): a Write without window reserves its data here. */
    private final ByteBudget budget;
    /** Its connection's share of {@link #budget}: a windowed Write reserves its credit here ({@link FsWriteShare}). */
    private final FsWriteShare share;
    /** What the budget runs when room comes back while this Write waits for credit: the same object to cancel. */
    private final Runnable onBudgetRoom;
    /**
     * Bytes of {@link #budget} this Write holds: what is queued, plus the credit granted and not
     * used yet; given back as buffers are written, and all of it when the Write ends.
     */
    private long reserved;
    /** On the budget's waiting list for more credit. */
    private boolean awaitingBudget;
    private long granted;

    /** @param budgetFreed runs on the loop when the budget has room again while this Write waits for credit */
    FsWriteCredit(FsService service, long id, boolean window, Runnable budgetFreed) {
        this.service = service;
        this.id = id;
        this.window = window;
        this.limit = window ? service.settings().writeWindow() : service.settings().writeBuffer();
        this.budget = service.buffers().writes();
        this.share = service.writeShare(id);
        this.onBudgetRoom = () -> service.post(budgetFreed);
    }

    /**
     * A chunk of {@code bytes} came, {@code received} (it included) and {@code queuedBytes} (it not)
     * being the Write's: null when the Write has room for it, else why not (it fails ENOBUFS). A
     * flow-controlled Write's data was reserved with its credit; another's is reserved now, in the
     * agent-wide budget, if that has the room.
     */
    String admit(int bytes, long received, long queuedBytes) {
        if (window && received > granted) {
            return "data past the credit granted (" + granted + " bytes)";
        }
        if (queuedBytes + bytes > limit) {
            return "data came faster than it could be written (more than " + limit
                    + " bytes waiting; ask for window: true to be told how much to send)";
        }
        if (!window) {
            if (!budget.tryReserve(bytes)) {
                return "the agent holds all the Write data it takes for all connections"
                        + " together (" + budget.limit() + " bytes); ask for window: true to be told how much to send";
            }
            reserved += bytes;
        }
        return null;
    }

    /**
     * Keeps what is queued plus what the host may still send at the window (flow-controlled hosts),
     * {@code queuedBytes} and {@code received} being the Write's.
     */
    void topUp(long queuedBytes, long received) {
        if (!window) {
            return;
        }
        long outstanding = granted - received;
        long held = queuedBytes + outstanding;
        if (held <= limit / 2 && !awaitingBudget) {
            // Within the agent-wide budget: no room, no credit until some comes back.
            long grant = share.reserveUpTo(limit - held);
            if (grant == 0) {
                share.await(onBudgetRoom);
                awaitingBudget = true;
                return;
            }
            reserved += grant;
            granted += grant;
            service.out().send(new Frame(id, MessageType.FS_CREDIT, new ExecStdinCredit(grant)));
        }
    }

    /**
     * The budget's room came: whether this Write was waiting for it (and is off the waiting lists
     * now); false when the wait's other list woke it too, or it ended meanwhile.
     */
    boolean roomCame() {
        if (!awaitingBudget) {
            return false;
        }
        stopAwaitingBudget();
        return true;
    }

    /**
     * Off the budgets' waiting lists. Every end of the Write does this: a Write that ended while it
     * waited stayed on them (with its stream and its connection's service) until some room came
     * back, and a host could end windowed Writes in a loop while the budget was full.
     */
    void stopAwaitingBudget() {
        if (awaitingBudget) {
            awaitingBudget = false;
            share.cancel(onBudgetRoom);
        }
    }

    /** Gives back the credit the host was granted and did not use: what is reserved beyond {@code queuedBytes}. */
    void releaseUnused(long queuedBytes) {
        release(reserved - queuedBytes);
    }

    /** Gives back all this Write holds, at its end. */
    void releaseAll() {
        release(reserved);
    }

    /** Gives {@code bytes} of this Write's reservation back to the agent-wide budget. */
    void release(long bytes) {
        if (bytes > 0) {
            reserved -= bytes;
            if (window) {
                share.release(bytes);
            } else {
                budget.release(bytes);
            }
        }
    }
}
