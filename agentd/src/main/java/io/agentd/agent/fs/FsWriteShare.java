package io.agentd.agent.fs;

import io.agentd.agent.loop.ByteBudget;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * One owner's share of the agent-wide Write budget ({@link FsBuffers#writes()}) for the credit of
 * its flow-controlled Writes ({@code window: true}), the owner a connection or, behind a relay, one
 * client ({@link FsService#writeShare}): together they hold at most {@link FsBuffers#writeShare()}
 * bytes of it (a relay client a quarter of that, and all of the connection's clients together the
 * connection's part: {@code agent} is that part, a {@link ByteBudget#shareOf share} of the agent's
 * budget), queued data and credit not used yet. Credit is held
 * from its grant until the data comes, so without a share one host that opens a few windowed
 * Writes and sends nothing would hold the whole budget for as long as it stays: every other
 * connection's windowed Writes would get no credit, and Writes without window would fail ENOBUFS.
 * A Write without window reserves from the agent's budget alone, for data the host has sent.
 *
 * <p>A Write granted nothing waits for room ({@link #await}): on this connection's list, which its
 * own Writes' releases wake, and on the agent budget's, which any connection's release wakes;
 * whichever comes first runs its retry, which {@link #cancel}s the other. Loop thread only.
 */
final class FsWriteShare {
    private final ByteBudget agent;
    private final long limit;
    /** Bytes this connection's windowed Writes hold, all of them reserved from {@link #agent} too. */
    private long held;
    private final ArrayDeque<Runnable> waiting = new ArrayDeque<>();

    FsWriteShare(ByteBudget agent, long limit) {
        this.agent = agent;
        this.limit = limit;
    }

    /** Reserves as much of {@code bytes} as this share and the agent's budget both have room for; 0 when either is spent. */
    long reserveUpTo(long bytes) {
        long room = Math.min(bytes, limit - held);
        if (room <= 0) {
            return 0;
        }
        long got = agent.reserveUpTo(room);
        held += got;
        return got;
    }

    /** Gives {@code bytes} back; Writes waiting for room (this connection's, and any on the agent's list) try again. */
    void release(long bytes) {
        if (bytes <= 0) {
            return;
        }
        held -= bytes;
        agent.release(bytes);
        if (!waiting.isEmpty()) {
            List<Runnable> retry = new ArrayList<>(waiting);
            waiting.clear();
            retry.forEach(Runnable::run);
        }
    }

    /** {@code retry} runs once room comes back, in this share or in the agent's budget. */
    void await(Runnable retry) {
        waiting.add(retry);
        agent.await(retry);
    }

    /** The Write waits no more: it ended, or room came and it asks again. */
    void cancel(Runnable retry) {
        waiting.remove(retry);
        agent.cancel(retry);
    }
}
