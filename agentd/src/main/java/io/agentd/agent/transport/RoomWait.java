package io.agentd.agent.transport;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;

/**
 * A frame whose answer may be large (an attach replays up to a session's whole kept output), held
 * while every host's queues together are past the agent's budget ({@link OutboundTotal}) and this
 * host has not yet read all that was queued for it before the frame ({@link #roomMark}), with the
 * bytes after it. Past the budget the pause mark bounds a host only to the mark plus one answer, so
 * each host not reading could add a replay beside its mark; held, a host adds a replay only once it
 * has read everything queued before that attach, the previous replay included: one that reads
 * nothing adds none, and one that reads has at most one replay unread beside what its sessions
 * queued since (its input is not read meanwhile, and their output stops at the high-water mark).
 * Only this host's reading ends the wait (or the queues going back within the budget): hosts that
 * do not read cannot hold up the attach of one that does (a review: with the budget's state alone,
 * 11 connections that never read held every attach, and behind a relay every client's frames). Nor
 * can the host's own live output: the wait ended once the queue was empty, and a host reading a
 * session of its own that writes without pause (its queue hovering between half the mark and the
 * mark) never saw it empty, so 31 or more others not reading held its attach, and its stdin,
 * signals and pings behind it, for good (a review). Loop thread only.
 */
final class RoomWait {
    /** This host's output. */
    private final LinkWriter writer;
    private final OutboundTotal outbound;
    private final StalledInputLog stalledInput;
    /** Runs when the queues are back within the budget; one instance, to cancel it. */
    private final Runnable retry;
    /** The frame held; null when none waits. */
    private Frame waitingForRoom;
    /**
     * Where {@link LinkWriter#dequeuedBytes} must reach before {@link #waitingForRoom} may go: what
     * had left the queue plus what was in it when the frame came to be dispatched. Output queued
     * after that (a session's, live) does not count: the queue is written in order.
     */
    private long roomMark;

    /** @param retry runs once the queues together are back within the budget, while a frame waits */
    RoomWait(LinkWriter writer, OutboundTotal outbound, StalledInputLog stalledInput, Runnable retry) {
        this.writer = writer;
        this.outbound = outbound;
        this.stalledInput = stalledInput;
        this.retry = retry;
    }

    /** Whether {@code frame}'s answer can be large enough to wait for the agent's budget. */
    private static boolean answersLarge(Frame frame) {
        return frame.type() == MessageType.SESSION_ATTACH;
    }

    /** A frame is held. */
    boolean holdsFrame() {
        return waitingForRoom != null;
    }

    /** The type of the frame held, which must be there. */
    MessageType heldType() {
        return waitingForRoom.type();
    }

    /**
     * Whether {@code frame}, about to be dispatched, must wait for room: its answer can be large, the
     * queues together are past the budget and this host has output queued. If so it is held and the
     * retry armed. Sets {@link #roomMark} to the end of that output.
     */
    boolean holdsBack(Frame frame) {
        if (!answersLarge(frame)) {
            return false;
        }
        roomMark = writer.dequeuedBytes() + writer.queuedBytes();
        if (!roomWanted()) {
            return false;
        }
        waitingForRoom = frame;
        outbound.awaitRoom(retry);
        return true;
    }

    /** Says, at the limited rate, that a frame of the host {@code who} on {@code fd} is held. */
    void logHeld(String who, int fd) {
        stalledInput.waitsForRoom(who, fd, waitingForRoom.type().wire(), outbound.queued() >> 20,
                writer.queuedBytes() >> 10);
    }

    /**
     * The frame held, given up, when it may go now; null (the retry armed again) while it must wait
     * still.
     */
    Frame takeIfRoom() {
        if (roomWanted()) {
            outbound.awaitRoom(retry);
            return null;
        }
        Frame frame = waitingForRoom;
        waitingForRoom = null;
        return frame;
    }

    /**
     * Whether the frame with a large answer must wait still: the queues together are past the budget
     * and this host has not yet taken all that was queued for it before the frame ({@link #roomMark}).
     * Not when its writes are lost: its answers are dropped.
     */
    private boolean roomWanted() {
        return outbound.over() && writer.dequeuedBytes() < roomMark && writer.writesLost() == null;
    }

    /** A frame is held, and the host has taken all that was queued for it before that frame. */
    boolean hostReadToMark() {
        return waitingForRoom != null && writer.dequeuedBytes() >= roomMark;
    }

    /** Nothing waits for room any more (the host left or is dropped): the frame goes undispatched. */
    void forget() {
        waitingForRoom = null; // an attach: no data array to hand back to the decoder
        outbound.cancelAwait(retry);
    }
}
