package io.agentd.client.relay;

import io.agentd.protocol.MessageType;
import java.nio.ByteBuffer;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Before the first client: every range has left. A relay that takes the place of one that died,
 * on a VM whose agent runs, finds the agent still running the sessions of that relay's clients
 * (a port keeps them by default), on ids it is about to give out again, and their output would
 * reach the new holder of those ids. Told first, the agent ends or detaches them (its host-loss
 * policy) before any new client's frame. An agent that ran no relay's clients (a VM booting: the
 * notices wait in the port until it opens it) has nothing to end; it answers none of them.
 *
 * <p>The notices stop what the agent sends from now on, not what it sent before it took them
 * (a kept session's queued output, written after its ready): clients are greeted at once, but
 * until the answer of the ping that follows the notices no frame on a slot's ids goes to one: the
 * barrier {@link #stands}. Selector thread only.
 */
final class StartBarrier {
    private static final Logger log = LoggerFactory.getLogger(Relay.class);
    /** See {@link #readyAt}. */
    static final long LIMIT_NANOS = TimeUnit.SECONDS.toNanos(10);
    /** The most ids {@link #usedMeanwhile} keeps. */
    static final int USED_MEANWHILE_MAX = 4096;

    /**
     * The ping sent right after the start's 128 departure notices ({@link SlotPool#NO_BARRIER} once
     * answered): until it is, the agent's frames on any slot's ids are an earlier relay's clients'
     * (output the agent sent before it took the notices), whoever holds those ids here now.
     */
    private long ping = SlotPool.NO_BARRIER;
    /**
     * When the first core.ready came while {@link #ping} was awaited (nanoTime; 0: none yet, or the
     * wait is over). The agent reads the notices and the ping right after its ready; one that never
     * answers it lost them (a dead agent read them, or the agent discarded the input it had not read
     * when the earlier relay's connection ended): after {@link #LIMIT_NANOS} the wait ends, with a
     * line, rather than keep every client's output from it for good.
     */
    private long readyAt;
    /**
     * Ids on which a client of this relay sent frames while the barrier stood (the first
     * {@link #USED_MEANWHILE_MAX}). They went to the agent after the notices and the ping, and the
     * agent answers in the order it reads, so its answer to one of them (started, failed, pong:
     * {@link #answersAFrameJustRead}) before the ping's means it lost the notices: the wait ends
     * there. Before, such a client's answers (exec.started, its output, its exit) were dropped as an
     * earlier client's until the ten seconds were up, and the command waited for its exit for good.
     */
    private final Set<Long> usedMeanwhile = new HashSet<>();

    /** Queues the notices that every range has left, and the ping whose answer ends the barrier. */
    void begin(PortQueue portOutput, AgentNotices notices, SlotPool slots) {
        for (int k = 0; k < IdRange.SLOTS; k++) {
            portOutput.addOwn(notices.rangeNotice(MessageType.CORE_RELAY_CLIENT_DISCONNECTED, IdRange.slot(k)));
        }
        ping = slots.startBarrier();
        portOutput.addOwn(notices.ping(ping));
    }

    /** Until it falls, the agent's frames on a slot's ids are an earlier relay's clients'. */
    boolean stands() {
        return ping != SlotPool.NO_BARRIER;
    }

    /** {@code id} is the ping's: its answer ends the barrier. */
    boolean isThePing(long id) {
        return id == ping;
    }

    /** A client of this relay sent a frame on {@code id} (see {@link #usedMeanwhile}). */
    void clientSent(long id) {
        if (stands() && usedMeanwhile.size() < USED_MEANWHILE_MAX) {
            usedMeanwhile.add(id);
        }
    }

    /**
     * Whether the agent's frame on a slot's id is an earlier relay's client's: while the barrier
     * stands, unless it answers a frame a client of this relay sent on that id; then the agent lost
     * the notices, and the barrier falls here.
     */
    boolean heldBack(long id, ByteBuffer frame) {
        if (stands() && usedMeanwhile.contains(id) && answersAFrameJustRead(frame)) {
            log.warn("relay: the agent answered a client's frame on id {} before the ping that follows this relay's"
                    + " start notices: it lost them; its frames go to the clients holding their ids again", id);
            end();
        }
        return stands();
    }

    /**
     * Whether the agent's frame (whole, its length prefix included) is one it sends only in answer
     * to a frame it has just read (exec.started, exec.failed, pong): never the output of a session
     * an earlier relay's client started on the same id, which may still be on its way before the
     * ping's answer (a client that numbers its ids from the range's start reuses them).
     */
    private static boolean answersAFrameJustRead(ByteBuffer frame) {
        String type = EnvelopeType.of(frame);
        return MessageType.EXEC_STARTED.wire().equals(type) || MessageType.EXEC_FAILED.wire().equals(type)
                || MessageType.CORE_PONG.wire().equals(type);
    }

    /** The agent said core.ready: the time it has to answer the ping starts, if it has not yet. */
    void agentReady() {
        if (stands() && readyAt == 0) {
            readyAt = System.nanoTime();
        }
    }

    /** The loop must look at the time ({@link #giveUpIfLate}). */
    boolean timing() {
        return readyAt != 0;
    }

    /**
     * The ping was answered, or its agent is gone (a new one ran none of an earlier relay's
     * sessions: it kills what the old one left), or its answer will not come.
     */
    void end() {
        ping = SlotPool.NO_BARRIER;
        readyAt = 0;
        usedMeanwhile.clear();
    }

    void giveUpIfLate() {
        if (stands() && System.nanoTime() - readyAt > LIMIT_NANOS) {
            log.warn("relay: the agent has not answered the ping after this relay's start notices {} s after its"
                    + " core.ready (it may have lost them): its frames go to the clients holding their ids again",
                    TimeUnit.NANOSECONDS.toSeconds(LIMIT_NANOS));
            end();
        }
    }
}
