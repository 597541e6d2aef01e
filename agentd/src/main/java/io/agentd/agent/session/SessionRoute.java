package io.agentd.agent.session;

import io.agentd.agent.session.retain.OutputRetention;
import io.agentd.agent.session.retain.OutputRing;
import io.agentd.agent.transport.HostOutput;
import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A session's current host output: the one place that says which connection, under which id, the
 * session's frames go to; or that they go nowhere (detached: its host left and the session runs on).
 * The session's parts (pumps, stdin writer, terminal frames) all send through it and name the
 * session by its first id; the route puts each frame on the current connection under the current
 * id, so re-targeting a session ({@link #retarget}, {@link #detach}) changes nothing else.
 *
 * <p>It also keeps the session's output for a later attach (sessions extension): an
 * {@link OutputRing}, from the start for a detachable session, from the moment its host left for a
 * kept one (on a port, while still routed to it: what it queues there meanwhile may never be read,
 * see {@link SessionEnds#keptForTheHostsReturn}); and counts the output offset (every byte, stdout
 * and stderr together). Detached, output goes only to the ring: {@link #acceptsOutput} stays true,
 * so the children never block on a missing host (the ring drops its oldest bytes instead, counted).
 * The exit sent while detached is held for the next attach; what would answer the host (credit,
 * refusals) has nobody to go to and is dropped, counted and logged once per detachment: never
 * silently. Loop thread only.
 */
public final class SessionRoute implements HostOutput {
    private static final Logger log = LoggerFactory.getLogger(SessionRoute.class);
    /** Output is copied out of the read buffer into the ring through this (one read at most; loop thread only). */
    private static final int SCRATCH_BYTES = 64 * 1024;
    private static final byte[] SCRATCH = new byte[SCRATCH_BYTES];

    /** The connection the frames go to, null while detached. */
    private SessionHost host;
    /** The connection last routed to (kept while detached: it names the session in logs and in the reaper). */
    private long connection;
    private long id;
    /** Frames dropped since the last detachment. */
    private long dropped;
    /** Where rings come from and are accounted; null for a route that never keeps output (tests). */
    private final OutputRetention retention;
    /** The kept output, or null while the session keeps none (not detachable, host still there). */
    private OutputRing ring;
    /** Every output byte so far. */
    private long offset;
    /** The exit last sent to an attached host: a relay may say it dropped it ({@link #holdSentExitAgain}). */
    private Frame sentExit;
    /** The exit sent while detached, for the next attach. */
    private Frame heldExit;
    /**
     * The host output each pipe's announced (spliced, not yet written) bytes were queued on, by pipe
     * fd: that queue must read them out before anyone else reads or closes the pipe, also once the
     * session has left that host. Null until the first spliced frame.
     */
    private Map<Integer, HostOutput> splicedTo;

    /** A route that keeps no output (a session driven alone in a test). */
    public SessionRoute(SessionHost host, long id) {
        this(host, id, false, null);
    }

    /**
     * @param keepFromStart a detachable session: its output is kept from the first byte
     * @param retention     the agent-wide account the ring is made and fed in
     */
    public SessionRoute(SessionHost host, long id, boolean keepFromStart, OutputRetention retention) {
        this.retention = retention;
        this.ring = keepFromStart ? retention.open(0) : null;
        retarget(host, id);
    }

    /** From now on the session's frames go to {@code host} under {@code id}. */
    public void retarget(SessionHost host, long id) {
        takeBackSpliced();
        this.host = host;
        this.connection = host.connection();
        this.id = id;
        if (dropped > 0) {
            log.info("session {}: {} frame(s) were dropped while it had no host", key(), dropped);
        }
        dropped = 0;
    }

    /**
     * The host is gone and the session runs on: its output goes to the ring from here on (one is
     * started now if it kept none), its exit is held for an attach.
     */
    public void detach() {
        takeBackSpliced();
        host = null;
        dropped = 0;
        keepFromHere();
    }

    /**
     * The session's output is kept in a ring from its next byte on, if it kept none (the one place a
     * ring is opened after the start): at a detach, at a port's hang-up under keep ({@link
     * SessionEnds#keptForTheHostsReturn}), or for an exit a relay dropped. Nothing for a route that
     * keeps no output.
     */
    void keepFromHere() {
        if (ring == null && retention != null) {
            ring = retention.open(offset);
        }
    }

    /** The attached host's {@link HostOutput#hangUpPending}; false when detached. */
    public boolean hangUpPending() {
        return host != null && host.output().hangUpPending();
    }

    /** The attached host's {@link HostOutput#hostAway}: a port whose host is away; false when detached. */
    public boolean hostAway() {
        return host != null && host.output().hostAway();
    }

    /** The attached host's {@link HostOutput#hangUpIfGone}; false when detached. */
    @Override
    public boolean hangUpIfGone() {
        return host != null && host.output().hangUpIfGone();
    }

    public boolean attached() {
        return host != null;
    }

    /**
     * Attached, and the session would run on if its host left: it keeps output already (detachable,
     * or kept once before), or its host keeps sessions (--on-host-loss keep).
     */
    public boolean keptIfItsHostLeaves() {
        return host != null && (ring != null || host.keepsSessions());
    }

    /** The connection and id the session is (or, detached, was last) addressed by. */
    public SessionKey key() {
        return new SessionKey(connection, id);
    }

    public long connection() {
        return connection;
    }

    public long id() {
        return id;
    }

    /** Every output byte the session wrote so far. */
    long offset() {
        return offset;
    }

    /** The kept output, or null while the session keeps none. */
    OutputRing ring() {
        return ring;
    }

    /** The exit held for the next attach, or null. */
    Frame heldExit() {
        return heldExit;
    }

    /** The session is gone for good: its kept output goes back to the total. */
    void release() {
        if (ring != null) {
            retention.close(ring);
            ring = null;
        }
        heldExit = null;
    }

    /**
     * The exit sent to the attached host never reached it: a relay dropped it, its client having
     * left (core.relay.exit.dropped). The session is hostless again with that exit held for an
     * attach; the output it kept went with its collection, so an attach gets what came before the
     * exit as missed. False when no exit was sent to a host (or the route keeps nothing).
     */
    boolean holdSentExitAgain() {
        if (sentExit == null || retention == null) {
            return false;
        }
        host = null;
        dropped = 0;
        keepFromHere();
        heldExit = sentExit;
        sentExit = null;
        return true;
    }

    private HostOutput output(MessageType type) {
        if (host != null) {
            return host.output();
        }
        if (dropped++ == 0) {
            log.info("session {}: its host is gone; {} and later frames for the host dropped (the session runs"
                    + " on, its output kept for an attach)", key(), type.wire());
        }
        return null;
    }

    @Override
    public void send(Frame frame) {
        if (host == null && frame.type() == MessageType.EXEC_EXITED && ring != null) {
            heldExit = frame;
            return;
        }
        if (host != null && frame.type() == MessageType.EXEC_EXITED) {
            sentExit = frame;
        }
        HostOutput out = output(frame.type());
        if (out != null) {
            out.send(frame.id() == id ? frame : new Frame(id, frame.type(), frame.payload()));
        }
    }

    @Override
    public void sendData(long firstId, MessageType type, ByteBuffer data) {
        offset += data.remaining();
        if (ring != null) {
            record(type, data.duplicate());
        }
        if (host != null) {
            host.output().sendData(id, type, data);
        }
    }

    private void record(MessageType type, ByteBuffer data) {
        int stream = type == MessageType.EXEC_STDERR ? OutputRing.STDERR : OutputRing.STDOUT;
        while (data.hasRemaining()) {
            int n = Math.min(SCRATCH_BYTES, data.remaining());
            data.get(SCRATCH, 0, n);
            retention.record(ring, stream, SCRATCH, 0, n);
        }
    }

    /** Kept output must pass through the ring: a session keeping it is read and copied, never spliced. */
    @Override
    public boolean acceptsSplicedData() {
        return ring == null && host != null && host.output().acceptsSplicedData();
    }

    @Override
    public void sendSplicedData(long firstId, MessageType type, int pipeFd, int length, IntConsumer onReleased) {
        if (host != null) {
            offset += length;
            HostOutput out = host.output();
            if (splicedTo == null) {
                splicedTo = new HashMap<>(4);
            }
            splicedTo.put(pipeFd, out);
            out.sendSplicedData(id, type, pipeFd, length, left -> {
                splicedTo.remove(pipeFd, out);
                // Dropped with its host's queue: the rest stays in the pipe and is counted again when
                // read from there, so it is not counted twice.
                offset -= left;
                onReleased.accept(left);
            });
        } else {
            onReleased.accept(length); // the bytes stay in the pipe, and are read (and counted) from there
        }
    }

    @Override
    public void takeOutOfPipe(int pipeFd) {
        HostOutput announcedTo = splicedTo == null ? null : splicedTo.get(pipeFd);
        if (announcedTo != null) {
            announcedTo.takeOutOfPipe(pipeFd);
        } else if (host != null) {
            host.output().takeOutOfPipe(pipeFd);
        }
    }

    /**
     * Before the session leaves its host (a detach it asked for, while still connected, or a move):
     * the frames already announced to that host's queue were sent before the detach, so they go to
     * it, read out of the pipes now. The pipes are then the session's again: its output goes on into
     * the ring, and nothing the old queue writes later reads a pipe the session has read or closed.
     * (A host that left dropped its queue first, and with it these entries.)
     */
    private void takeBackSpliced() {
        if (splicedTo == null || splicedTo.isEmpty()) {
            return;
        }
        for (Map.Entry<Integer, HostOutput> e : List.copyOf(splicedTo.entrySet())) {
            e.getValue().takeOutOfPipe(e.getKey());
        }
        splicedTo.clear();
    }

    /**
     * Detached, output never waits: the ring makes room by dropping its oldest bytes. Routed, it waits
     * while the link is above its high-water mark or the relay holds this id's output.
     */
    @Override
    public boolean acceptsOutput() {
        return host == null ? ring != null : host.output().acceptsOutput() && !host.heldIds().test(id);
    }

    @Override
    public void refuseStdin(long firstId, Integer errno, String errnoName, String message) {
        HostOutput out = output(MessageType.EXEC_STDIN_ERROR);
        if (out != null) {
            out.refuseStdin(id, errno, errnoName, message);
        }
    }

    @Override
    public void refuse(long firstId, ErrorKind kind, String offendingType, String message) {
        HostOutput out = output(MessageType.CORE_ERROR);
        if (out != null) {
            out.refuse(id, kind, offendingType, message);
        }
    }
}
