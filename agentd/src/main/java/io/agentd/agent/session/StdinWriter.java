package io.agentd.agent.session;

import io.agentd.agent.loop.Loop.Registration;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.OsException;
import io.agentd.agent.transport.HostOutput;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecStdinCredit;
import java.nio.ByteBuffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A session's stdin on its way to the child: the queue, the window (credit and limits), the end of
 * input, and refusals. It closes its fd when input ends or fails, if the fd is its own (a PTY master
 * carries output too and is the session's to close). Idempotent close: the fd is closed once.
 */
final class StdinWriter {
    private static final Logger log = LoggerFactory.getLogger(Session.class); // the session's lines, as before

    private final long sessionId;
    private final int fd;
    /** A pipe's write end: the writer's to close, and empty data ends input. On a PTY the host sends ^D. */
    private final boolean pipe;
    private final HostOutput host;
    private final SessionIo io;
    private final SessionDefaults defaults;
    private final StdinBudget budget;
    private final StdinQueue queue = new StdinQueue();
    private final StdinWindow window;
    private Registration reg;
    private boolean open = true;
    private boolean eofRequested;
    /** A PTY's end of input was ignored and said so: a host may send it in a loop, the line comes once. */
    private boolean ignoredEofLogged;
    /**
     * The errno of the first stdin frame of the current host refused for space, 0 before: every later
     * frame of that host gets it too, so what the child reads of each host's input stays a prefix of
     * what that host sent. Reset when another host attaches ({@link #rehost}): the new host's input
     * is its own stream, and it is never refused for an earlier host's overrun.
     */
    private int refusedErrno;
    /** Why the current host's frames are refused ({@link #refusedErrno} set), for each refusal's text. */
    private String refusedBecause;
    private long bytesWritten;

    /** @param flowControl the host asked for stdin credit (exec.request stdin_window) */
    StdinWriter(long sessionId, int fd, boolean pipe, boolean flowControl, HostOutput host, SessionIo io,
            SessionDefaults defaults, StdinBudget budget) {
        this.sessionId = sessionId;
        this.fd = fd;
        this.pipe = pipe;
        this.host = host;
        this.io = io;
        this.defaults = defaults;
        this.budget = budget;
        this.window = StdinWindow.forSession(budget, flowControl, defaults.stdinWindow(), defaults.stdinLimit(),
                this::sendCredit);
    }

    /**
     * Another host is attached: see {@link StdinWindow#rehost}. The refused-prefix rule is per host:
     * the last host's refusal does not carry over to the new host's frames.
     */
    void rehost(boolean flowControl) {
        refusedErrno = 0;
        refusedBecause = null;
        if (flowControl && (!open || eofRequested)) {
            // A closed stdin takes nothing, and its window grants nothing; but a flow-controlled host
            // sends nothing before credit, and its writer waited for credit until the session ended.
            // A window is granted all the same, outside the budget (what comes is refused EPIPE at
            // once, never queued): a host with input learns on its first frame, as one without flow
            // control does, and one with nothing to send (an attach forwarding no input) hears nothing.
            sendCredit(Math.min(StdinWindow.FIRST_WINDOW, defaults.stdinWindow()));
            window.rehost(false); // nothing from the budget: what is still queued drains, nothing more is taken
            return;
        }
        window.rehost(flowControl);
    }

    /** The host is gone: see {@link StdinWindow#hostLeft}. */
    void hostLeft() {
        window.hostLeft();
    }

    /** Grants the first credit (with flow control); after started, before any output. */
    void open(Registration reg) {
        this.reg = reg;
        window.open();
    }

    boolean writing() {
        return open && reg.writing();
    }

    long bytesWritten() {
        return bytesWritten;
    }

    /**
     * The current host's stdin may have lost a frame the agent never read: one the codec refused
     * (bad flags, data that is not bytes), or one its link skipped unread (a frame length it could
     * not trust; whose frame it was is unknown). The host had a core.error. Its later frames are
     * refused as after an overrun, so the child reads a prefix of what the host sent, never a
     * stream with a hole where that frame was.
     *
     * @param why what was lost, for the refusals' text
     */
    void refuseLaterFrames(String why) {
        if (refusedErrno == 0) {
            refusedErrno = LibC.EINVAL;
            refusedBecause = why;
        }
    }

    /** A stdin frame from the host; empty data is the end of input. */
    void onStdin(byte[] data) {
        if (data.length == 0) {
            if (!pipe) {
                if (!ignoredEofLogged) {
                    ignoredEofLogged = true;
                    log.debug("session {}: end of input ignored on a PTY (the host sends ^D); later ones are"
                            + " ignored without a line", sessionId);
                }
            } else if (open && !eofRequested) {
                eofRequested = true;
                if (queue.isEmpty()) {
                    close();
                }
            }
            return;
        }
        if (!open || eofRequested) {
            refuse(LibC.EPIPE, "stdin is closed; " + data.length + " bytes not delivered");
            return;
        }
        if (refusedErrno != 0) {
            refuse(refusedErrno, refusedBecause + ", so later stdin frames are refused (the process reads"
                    + " only what came before it); " + data.length + " bytes dropped");
            return;
        }
        StdinWindow.Refusal refusal = window.admit(data.length);
        if (refusal != StdinWindow.Refusal.NONE) {
            refusedErrno = LibC.ENOBUFS;
            refusedBecause = "an earlier stdin frame of this session was refused for space";
            refuse(LibC.ENOBUFS, whyRefused(refusal) + "; " + data.length
                    + " bytes dropped; every later stdin frame of this session is refused too (the process reads"
                    + " only what came before this one)");
            return;
        }
        // The fd has room more often than not: no turn of the loop before the write. With nothing
        // queued before them the bytes go to it straight from the frame, and only what it does not
        // take is copied into the queue (a keystroke costs no chunk).
        if (queue.isEmpty()) {
            int taken = writeAtOnce(data);
            if (!open || taken == data.length) {
                return;
            }
            queue.add(data, taken, data.length - taken);
        } else {
            queue.add(data);
            onWritable();
        }
        if (open && !queue.isEmpty()) {
            reg.setWrite(true);
        }
    }

    /** Writes what it can of {@code data} (nothing is queued); the bytes the fd took. */
    private int writeAtOnce(byte[] data) {
        int written;
        try {
            written = io.write(fd, ByteBuffer.wrap(data), StdinQueue.WRITE_BYTES);
        } catch (OsException e) {
            writeFailed(e, data.length);
            return 0;
        }
        if (written == Os.WOULD_BLOCK) {
            return 0;
        }
        delivered(written);
        return written;
    }

    private String whyRefused(StdinWindow.Refusal refusal) {
        return switch (refusal) {
            case PAST_CREDIT -> "stdin past the credit granted (" + window.credit() + " bytes of credit left)";
            case SESSION_FULL -> "stdin queue full (" + queue.size() + " of " + defaults.stdinLimit()
                    + " bytes queued, the process is not reading)";
            case ALL_FULL -> "the agent's stdin queues are full (" + budget.used() + " of " + budget.limit()
                    + " bytes queued or granted over all sessions)";
            case NONE -> throw new IllegalArgumentException("not a refusal");
        };
    }

    /** Credit for the host (flow control): only between started and the terminal frame. */
    private void sendCredit(long bytes) {
        host.send(new Frame(sessionId, MessageType.EXEC_STDIN_CREDIT, new ExecStdinCredit(bytes)));
    }

    /** The child's stdin is writable: write what is queued. */
    void onWritable() {
        if (!open) {
            return;
        }
        try {
            delivered(queue.writeTo(fd, io));
        } catch (OsException e) {
            writeFailed(e, queue.clear());
            return;
        }
        if (queue.isEmpty()) {
            if (eofRequested) {
                close();
            } else {
                reg.setWrite(false);
            }
        }
    }

    /** {@code bytes} went to the child's stdin: counted, and the window told (credit, budget). */
    private void delivered(long bytes) {
        bytesWritten += bytes;
        window.consumed(bytes);
    }

    /** A write to the child's stdin failed: input ends, and the host is told what it lost. */
    private void writeFailed(OsException e, long undelivered) {
        refuse(e.errno(), "writing stdin failed (" + e.getMessage() + "); " + undelivered + " bytes not delivered");
        close();
    }

    /** The process exited: what is still queued will never be read; the host is told. */
    void dropUndelivered() {
        if (open && !queue.isEmpty()) {
            long dropped = queue.clear();
            refuse(LibC.EPIPE, "the process exited; " + dropped + " bytes of stdin not delivered");
        }
    }

    /**
     * Input ends (end of input, a failed write, or the session's teardown): the queue's bytes and the
     * credit go back to the budget, and the fd is closed if it is the writer's. Idempotent.
     */
    void close() {
        queue.clear();
        window.close();
        if (!open) {
            return;
        }
        open = false;
        if (reg == null) {
            if (pipe) {
                io.close(fd);
            }
            return;
        }
        if (pipe) {
            reg.cancel();
            io.close(fd);
        } else {
            reg.setWrite(false); // the master stays open for output
        }
    }

    private void refuse(int errno, String message) {
        host.refuseStdin(sessionId, errno, Os.errnoName(errno), message);
    }
}
