package io.agentd.agent.transport;

import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecFailed;
import java.nio.ByteBuffer;
import java.util.function.IntConsumer;

/**
 * Where a session's frames go, and how much more the host takes: the part of the host link a
 * session sees ({@link PortLink} is the real one; a test records the frames instead).
 */
public interface HostOutput {
    /** Queues a frame (see {@link PortLink#send}). */
    void send(Frame frame);

    /** Queues a data frame (stdout, stderr, fs.data) of the bytes between {@code data}'s position and limit (copied). */
    void sendData(long id, MessageType type, ByteBuffer data);

    /** False when output must be read and copied: the port cannot take spliced data. */
    boolean acceptsSplicedData();

    /**
     * Announces {@code length} bytes of output still in {@code pipeFd}, moved to the port when their
     * turn comes; {@code onReleased} runs when the queue is done with the pipe, with the number of
     * those bytes still in it (0 unless the queue was dropped before they were all written).
     */
    void sendSplicedData(long id, MessageType type, int pipeFd, int length, IntConsumer onReleased);

    /** Before the session reads or closes a pipe itself: the queue reads out what was announced. */
    void takeOutOfPipe(int pipeFd);

    /** False while the queue is above the high-water mark: do not read more session output. */
    boolean acceptsOutput();

    /** Tells the host that stdin data of session {@code id} was not delivered (core.exec.stdin.error). */
    void refuseStdin(long id, Integer errno, String errnoName, String message);

    /** Answers a frame the agent cannot use with core.error on its id. */
    void refuse(long id, ErrorKind kind, String offendingType, String message);

    /**
     * Answers like {@link #refuse}, for a frame that is a race rather than a mistake (stdin, a resize
     * or a signal that crossed its session's exit or failure on the wire, which every host sends now
     * and then): the operator's log gets it at debug only.
     */
    default void refuseRace(long id, ErrorKind kind, String offendingType, String message) {
        refuse(id, kind, offendingType, message);
    }

    /**
     * Logs an exec.request answered failed before anything ran, at the rate refused frames are
     * (a link's shared limit); a host without one logs it plainly.
     */
    default void requestFailed(long id, ExecFailed failed, String quotedCmd) {
        HostEventLog.logRequestFailed("", id, failed, quotedCmd);
    }

    /**
     * When the host has closed its end and the link has not heard yet (the hang-up waits in this
     * turn of the loop, or the next), the link takes what the host sent and hangs up now; true when
     * it did. For a caller that would otherwise refuse something because this host still holds it.
     */
    default boolean hangUpIfGone() {
        return false;
    }

    /**
     * A port whose host is away, the connection kept for its return (what is sent waits in the
     * queue, unread until a host comes back); false for a link with its host there, and for a
     * socket's, which ends with its host.
     */
    default boolean hostAway() {
        return false;
    }

    /** How soon a caller waiting for a {@link #hangUpPending} hang-up asks again (it waits for a spawn: a few ms). */
    long PENDING_HANG_UP_RETRY_MILLIS = 2;

    /**
     * The host has closed its end, and its hang-up waits for something {@link #hangUpIfGone} cannot
     * run now: a command of its being started (the spawn runs off the loop), or its drop (input past
     * a frame length it could not trust, or its frame timeout), which ends in the hang-up. A caller
     * that wanted the hang-up first asks again in {@link #PENDING_HANG_UP_RETRY_MILLIS}.
     */
    default boolean hangUpPending() {
        return false;
    }
}
