package io.agentd.agent.fs;

import io.agentd.agent.loop.ByteBudget;
import java.util.ArrayDeque;

/**
 * One owner's share of the agent-wide budget of Read buffers ({@link FsBuffers#reads()}): the Reads
 * of a connection (or, behind a relay, of one client: {@link FsService#readShare}) together hold at
 * most {@link FsBuffers#readShare()} bytes of it (a relay client a quarter of that, and all of the
 * connection's clients together the connection's part: {@code agent} is that part, a
 * {@link ByteBudget#shareOf share} of the agent's budget). A Read keeps its buffers
 * while it is paused (its host does not read, or the relay holds its id), so without a share one
 * host that stops reading could hold the whole budget with enough Reads and every other
 * connection's Reads would wait for it; with one, it holds its share and the rest goes on serving
 * the others.
 *
 * <p>Reads that find no room wait here, in the order they asked, and are granted their buffers
 * (reserved for them) when room comes back, as many as fit and no more: a release wakes only the
 * Reads it has room for, not every waiting one. The connection waits on the agent-wide budget's
 * list at most once, only while its first waiting Read is short of the agent's room rather than of
 * its own share (then one of its own Reads gives buffers back). Loop thread only.
 */
final class FsReadShare {
    /** A Read waiting for buffers. */
    interface Waiter {
        /** Bytes of each buffer it takes. */
        int chunk();

        /** Buffers it reads ahead into when there is room. */
        int wanted();

        /** {@code buffers} (at least one) were reserved for it: it holds them from now on and gives them back with {@link FsReadShare#release}. */
        void granted(int buffers);
    }

    private final ByteBudget agent;
    private final long limit;
    /** Bytes this connection's Reads hold, all of them reserved from {@link #agent} too. */
    private long held;
    private final ArrayDeque<Waiter> waiting = new ArrayDeque<>();
    /** On the agent budget's list: it runs this once, when any connection gives some back. */
    private final Runnable agentFreedRoom = this::agentFreedRoom;
    private boolean onAgentList;

    FsReadShare(ByteBudget agent, long limit) {
        this.agent = agent;
        this.limit = limit;
    }

    /**
     * Reserves up to {@link Waiter#wanted} buffers for {@code read} and returns how many; 0 when not
     * one fits, or other Reads of this connection wait already (it goes behind them): then
     * {@link Waiter#granted} tells it later, unless it is {@link #cancel}led.
     */
    int take(Waiter read) {
        if (!waiting.isEmpty()) {
            waiting.add(read); // the first waiting one decides what this connection waits for
            return 0;
        }
        int buffers = reserve(read);
        if (buffers == 0) {
            waiting.add(read);
            awaitAgentIfShort(read);
        }
        return buffers;
    }

    /** A Read that went away before it was granted anything: it waits no more. */
    void cancel(Waiter read) {
        if (waiting.remove(read)) {
            grantWaiting(); // the next one may want less than the one that went
        }
    }

    /** A Read gives {@code bytes} back (to this share and to the agent's budget). */
    void release(long bytes) {
        if (bytes <= 0) {
            return;
        }
        held -= bytes;
        agent.release(bytes); // connections short of the agent's room try first (this one may be among them)
        grantWaiting();
    }

    private void agentFreedRoom() {
        agent.cancel(agentFreedRoom); // told by one level of the budget: off the other's list too
        onAgentList = false;
        grantWaiting();
    }

    /** In order, each waiting Read that gets at least one buffer; stops at the first that gets none. */
    private void grantWaiting() {
        while (!waiting.isEmpty()) {
            int buffers = reserve(waiting.peek());
            if (buffers == 0) {
                awaitAgentIfShort(waiting.peek());
                return;
            }
            waiting.poll().granted(buffers);
        }
        if (onAgentList) {
            agent.cancel(agentFreedRoom);
            onAgentList = false;
        }
    }

    /**
     * {@code read} got nothing. When its own share has room, the agent's budget is what is short:
     * wait on its list (once). Otherwise this connection holds buffers, and their release tries again.
     */
    private void awaitAgentIfShort(Waiter read) {
        if (fitsShare(read.chunk()) && !onAgentList) {
            agent.await(agentFreedRoom);
            onAgentList = true;
        }
    }

    private int reserve(Waiter read) {
        int buffers = 0;
        while (buffers < read.wanted() && fitsShare(read.chunk()) && agent.tryReserve(read.chunk())) {
            held += read.chunk();
            buffers++;
        }
        return buffers;
    }

    /**
     * A connection that holds nothing may always take one buffer, even one larger than its share (a
     * small budget, or chunks near the protocol's 3 MiB): a share below one chunk must not stop its
     * Reads for good.
     */
    private boolean fitsShare(long chunk) {
        return held == 0 || held + chunk <= limit;
    }
}
