package io.agentd.client.relay;

import java.util.ArrayDeque;

/**
 * The slots no client holds: free ones, least recently freed first (a slot's ids go to a new client
 * as late as possible), and leaving ones, whose client is gone but whose departure the agent has not
 * yet confirmed. A leaving slot goes to nobody: the agent may still be sending output of the old
 * client's sessions (on a port the default host-loss policy keeps them running), and until it has
 * processed the departure notice that output would reach whoever held the ids next.
 *
 * <p>The confirmation is the answer to a core.ping the relay sends right after the notice, on the
 * slot's {@link #probeId}: the agent handles a connection's frames in order, so everything it sent
 * for the range before it took the notice comes before that pong. Selector thread only.
 *
 * <p>A slot has one such ping in flight while one agent lives: it is not given out again before the
 * answer. An agent's restart breaks that: the pings sent before it may have died with the old agent
 * (read, never answered) or wait in the port for the new one, which answers them after its ready;
 * nothing tells which. So a restart is confirmed by one ping of its own, the {@link #barrierId}
 * ping, sent after the new ready: its answer confirms every slot leaving when it was sent (their
 * notices came before it, whichever agent took them), and until it comes a slot's pong may be an
 * answer to a ping from before the restart, and is ignored. Were it taken, a second answer to the
 * same departure (one ping before the restart and one after) would free the slot's next departure,
 * whose notice the agent has not reached: the ids would go to a new client while the output of the
 * previous one's sessions is still on its way. Since the agent answers in order, once the barrier
 * is answered every earlier ping is answered or lost, and a slot's pong answers its latest ping.
 */
final class SlotPool {
    private final ArrayDeque<Integer> free = new ArrayDeque<>();
    private final boolean[] leaving = new boolean[IdRange.SLOTS];
    private int leavingCount;
    /** The restart ping awaited ({@link #NO_BARRIER}: none): until its answer, slot pongs are ignored. */
    private long barrier = NO_BARRIER;
    /** The slots leaving when {@link #barrier} was sent: its answer frees them. */
    private final boolean[] behindBarrier = new boolean[IdRange.SLOTS];
    /** Restarts so far: the next barrier's id is chosen by it ({@link #barrierId}). */
    private long restarts;

    static final long NO_BARRIER = -1;
    /**
     * The ids of restart pings: the 126 unused ids between slot 127's probe id ({@code 128 * SPAN})
     * and {@link AgentFrameRouter#PROBE_ID} ({@code 128 * SPAN + 127}), in no client's range. They go round:
     * an answer to a barrier 126 restarts old would have to be still in flight for one to be mistaken.
     */
    private static final long FIRST_BARRIER_ID = IdRange.SLOTS * IdRange.SPAN + 1;
    private static final int BARRIER_IDS = (int) (AgentFrameRouter.PROBE_ID - FIRST_BARRIER_ID);

    SlotPool() {
        for (int k = 0; k < IdRange.SLOTS; k++) {
            free.add(k);
        }
    }

    /** A free slot for a new client, or null when none is. */
    Integer take() {
        return free.poll();
    }

    /** {@code slot}'s client is gone: the slot is nobody's until {@link #confirmed}. */
    void leave(int slot) {
        leaving[slot] = true;
        leavingCount++;
    }

    /**
     * The agent answered {@code slot}'s probe: free now. False when it was not leaving (a late or
     * repeated answer), or when a restart's barrier is awaited (the answer may be to a ping from
     * before the restart: see the class comment).
     */
    boolean confirmed(int slot) {
        if (barrier != NO_BARRIER || !leaving[slot]) {
            return false;
        }
        free(slot);
        return true;
    }

    /**
     * A new agent said ready: returns the id of the ping to send it now, whose answer confirms every
     * slot leaving now; {@link #NO_BARRIER} when none is (then no ping of a slot is in flight either).
     * A barrier awaited from an earlier restart is superseded: its answer is ignored.
     */
    long restarted() {
        if (leavingCount == 0) {
            barrier = NO_BARRIER;
            return NO_BARRIER;
        }
        barrier = barrierId(restarts++);
        for (int k = 0; k < IdRange.SLOTS; k++) {
            behindBarrier[k] = leaving[k];
        }
        return barrier;
    }

    /**
     * The id of the ping the relay sends after the departure notices of its start ({@link
     * StartBarrier}): a barrier id of its own, so that no restart's barrier is mistaken for it.
     */
    long startBarrier() {
        return barrierId(restarts++);
    }

    /** The agent answered the restart ping {@code id}: the slots behind it are free. False for another (an old one). */
    boolean barrierAnswered(long id) {
        if (id != barrier) {
            return false;
        }
        barrier = NO_BARRIER;
        for (int k = 0; k < IdRange.SLOTS; k++) {
            if (behindBarrier[k]) {
                behindBarrier[k] = false;
                if (leaving[k]) {
                    free(k);
                }
            }
        }
        return true;
    }

    private void free(int slot) {
        leaving[slot] = false;
        leavingCount--;
        free.add(slot);
    }

    boolean isLeaving(int slot) {
        return leaving[slot];
    }

    int leavingCount() {
        return leavingCount;
    }

    /**
     * The id of the ping that confirms {@code slot}'s departure: the unused id right after its range
     * ({@code (slot+1) * SPAN}), in no client's range, distinct per slot (so an answer names the slot
     * whatever else is in flight) and never {@link AgentFrameRouter#PROBE_ID} (which is {@code 128 * SPAN + 127}).
     */
    static long probeId(int slot) {
        return IdRange.slot(slot).endExclusive();
    }

    /** The id of the {@code n}th restart's ping. */
    static long barrierId(long n) {
        return FIRST_BARRIER_ID + n % BARRIER_IDS;
    }

    /** {@code id} is one of a restart's pings ({@link #barrierId}). */
    static boolean isBarrierId(long id) {
        return id >= FIRST_BARRIER_ID && id < FIRST_BARRIER_ID + BARRIER_IDS;
    }

    /** The slot whose {@link #probeId} {@code id} is, or -1. */
    static int slotOfProbe(long id) {
        if (id == 0 || id % IdRange.SPAN != 0) {
            return -1;
        }
        long slot = id / IdRange.SPAN - 1;
        return slot < IdRange.SLOTS ? (int) slot : -1;
    }
}
