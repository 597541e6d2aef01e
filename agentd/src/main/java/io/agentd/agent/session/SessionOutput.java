package io.agentd.agent.session;

import io.agentd.agent.session.retain.OutputRetention;
import io.agentd.agent.session.retain.OutputRing;
import io.agentd.agent.transport.HostOutput;
import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import java.nio.ByteBuffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where one session's frames go: the host attached to it now (under the id that host knows it by),
 * its kept output (an {@link OutputRing}, for a detachable session from its start, for a kept one
 * from the moment its host left), or both. The session and its parts send through this as through
 * any {@link HostOutput}, with the session's first id; the frames reach the attached host with its
 * id. With no host attached, output only goes to the ring (never held up: the ring drops its oldest
 * bytes), the exit is held for the next attach, and what would answer the host (credit, refusals)
 * goes nowhere. It also counts the session's output offset: every byte, stdout and stderr together.
 * Loop thread only.
 */
final class SessionOutput implements HostOutput {
    private static final Logger log = LoggerFactory.getLogger(Session.class);
    /** Output is copied out of the read buffer into the ring through this (one read at most). */
    private static final int SCRATCH_BYTES = 64 * 1024;
    private static final byte[] SCRATCH = new byte[SCRATCH_BYTES];

    private final OutputRetention retention;
    private HostOutput target;
    private long targetId;
    private OutputRing ring;
    /** Every output byte so far. */
    private long offset;
    /** The exit sent while no host was attached, for the next attach. */
    private Frame heldExit;

    /**
     * @param target   the requesting host
     * @param id       the id it knows the session by
     * @param keepFromStart a detachable session: its output is kept from the first byte
     */
    SessionOutput(HostOutput target, long id, boolean keepFromStart, OutputRetention retention) {
        this.target = target;
        this.targetId = id;
        this.retention = retention;
        this.ring = keepFromStart ? retention.open(0) : null;
    }

    /** Whether a host is attached. */
    boolean attached() {
        return target != null;
    }

    /** The attached host's id for the session (its last one, once detached). */
    long hostId() {
        return targetId;
    }

    HostOutput host() {
        return target;
    }

    /** Every output byte the session wrote so far. */
    long offset() {
        return offset;
    }

    /** The kept output, or null while the session keeps none (not detachable, host still there). */
    OutputRing ring() {
        return ring;
    }

    /** The exit held for the next attach, or null. */
    Frame heldExit() {
        return heldExit;
    }

    /** The host left: output goes to the ring from here on (one is started now if there was none). */
    void detach() {
        target = null;
        if (ring == null) {
            ring = retention.open(offset);
        }
    }

    /** {@code host} is the session's host now, knowing it by {@code id}. */
    void attach(HostOutput host, long id) {
        this.target = host;
        this.targetId = id;
    }

    /** The session is gone for good: its kept output goes back to the total. */
    void release() {
        if (ring != null) {
            retention.close(ring);
        }
        heldExit = null;
    }

    @Override
    public void send(Frame frame) {
        if (target != null) {
            target.send(frame.id() == targetId ? frame : new Frame(targetId, frame.type(), frame.payload()));
        } else if (frame.type() == MessageType.EXEC_EXITED) {
            heldExit = frame;
        } else {
            log.debug("session (host id {}): {} with no host attached: dropped", targetId, frame.type());
        }
    }

    @Override
    public void sendData(long id, MessageType type, ByteBuffer data) {
        int n = data.remaining();
        offset += n;
        if (ring != null) {
            record(type, data.duplicate());
        }
        if (target != null) {
            target.sendData(targetId, type, data);
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

    /** Kept output must pass through the ring: a session with one is read and copied, never spliced. */
    @Override
    public boolean acceptsSplicedData() {
        return ring == null && target != null && target.acceptsSplicedData();
    }

    @Override
    public void sendSplicedData(long id, MessageType type, int pipeFd, int length, Runnable onReleased) {
        offset += length;
        target.sendSplicedData(targetId, type, pipeFd, length, onReleased);
    }

    @Override
    public void takeOutOfPipe(int pipeFd) {
        if (target != null) {
            target.takeOutOfPipe(pipeFd);
        }
    }

    /** With no host, output never waits: the ring makes room by dropping its oldest bytes. */
    @Override
    public boolean acceptsOutput() {
        return target == null || target.acceptsOutput();
    }

    @Override
    public void refuseStdin(long id, Integer errno, String errnoName, String message) {
        if (target != null) {
            target.refuseStdin(targetId, errno, errnoName, message);
        }
    }

    @Override
    public void refuse(long id, ErrorKind kind, String offendingType, String message) {
        if (target != null) {
            target.refuse(targetId, kind, offendingType, message);
        }
    }
}
