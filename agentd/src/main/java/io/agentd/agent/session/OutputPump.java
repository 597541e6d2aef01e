package io.agentd.agent.session;

import io.agentd.agent.loop.Loop.Registration;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.OsException;
import io.agentd.agent.transport.HostOutput;
import io.agentd.protocol.MessageType;
import java.nio.ByteBuffer;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One output of a session (stdout or stderr; a PTY has only stdout) on its way to the host: reads
 * or splices its fd, enlarges its pipe for bulk output, and at its end stops watching and closes
 * the fd if it owns it (a PTY master is the session's to close: it carries stdin too). Like
 * OpenJDK's ProcessPipeInputStream, it cleans up after itself; the session decides when it runs.
 */
final class OutputPump {
    private static final Logger log = LoggerFactory.getLogger(Session.class); // the session's lines, as before
    /** Largest frame of output left in a pipe to be spliced to the port (see OutboundQueue). */
    private static final int SPLICE_MAX = BulkPipes.BULK_PIPE_BYTES;
    /**
     * Less than this is read and copied: a splice costs four syscalls (FIONREAD, splice, and taking
     * the pipe out of and back into epoll) against one read, which only pays for bulk output.
     */
    static final int SPLICE_MIN = 16 * 1024;
    /** At the end of the drain window, at most this much more is read from the fd (a pipe's worth). */
    static final int FINAL_DRAIN_MAX = 1024 * 1024;

    private final long sessionId;
    private final MessageType type;
    private final int fd;
    /** A pipe may be spliced; a PTY master is always read (and never resized). */
    private final boolean pipe;
    /** Closes its fd at its end: a pipe's read end is the pump's alone. */
    private final boolean ownsFd;
    private final HostOutput host;
    private final SessionIo io;
    private final BulkPipes bulkPipes;
    private final BulkCoalescing coalescing;
    private final ByteBuffer readBuffer;
    /** The session's output is paused for backpressure: the fd is not watched meanwhile. */
    private final BooleanSupplier paused;
    private Registration reg;
    private boolean open = true;
    /**
     * Bytes of this pipe's output queued for the port and still in the pipe (one frame at most):
     * while non-zero the pipe is the queue's to read, and the pump does not watch it.
     */
    private int announced;
    /** The last read or splice moved at least SPLICE_MIN bytes: worth asking how much is waiting. */
    private boolean bulk;
    /** Enlarged for bulk output, or refused: tried once. */
    private boolean bulkPipe;
    private boolean bulkTried;
    private long bytesMoved;
    /** When the pipe was last read or spliced (kept once it is a bulk writer's). */
    private long lastReadNanos;

    OutputPump(long sessionId, MessageType type, int fd, boolean pipe, HostOutput host, SessionIo io,
            BulkPipes bulkPipes, BulkCoalescing coalescing, ByteBuffer readBuffer, BooleanSupplier paused) {
        this.sessionId = sessionId;
        this.type = type;
        this.fd = fd;
        this.pipe = pipe;
        this.ownsFd = pipe;
        this.host = host;
        this.io = io;
        this.bulkPipes = bulkPipes;
        this.coalescing = coalescing;
        this.readBuffer = readBuffer;
        this.paused = paused;
    }

    /** The fd's registration in the loop (made by the session, which dispatches its events). */
    void attach(Registration reg) {
        this.reg = reg;
    }

    boolean isOpen() {
        return open;
    }

    /** True while the pump wants readiness events (the session reads it on them). */
    boolean reading() {
        return open && reg.reading();
    }

    /** Bytes sent to the host (read or spliced). */
    long bytesMoved() {
        return bytesMoved;
    }

    /** Watches the fd unless output is paused or the queue still owns the pipe's first bytes. */
    void setInterest() {
        if (open) {
            reg.setRead(!paused.getAsBoolean() && announced == 0);
        }
    }

    /**
     * Sends what the fd holds, or finds its end. Pipe output goes out as a spliced frame when the port
     * takes those: the pump only announces it, and the bytes move from the pipe to the port when
     * their turn comes. Otherwise (a PTY, an empty pipe, or a port that needs copies) it is read.
     * Returns the bytes sent, 0 when the fd reached its end (and is closed now), or WOULD_BLOCK.
     */
    int readOnce() {
        if (announced > 0) {
            return Os.WOULD_BLOCK; // the queue still owns the pipe's first bytes
        }
        boolean bulkWriter = pipe && bytesMoved >= BulkCoalescing.BULK_AFTER;
        if ((bulk || bulkWriter) && pipe && host.acceptsSplicedData()) {
            int waiting = bytesReadable();
            if (bulkWriter && coalescing.waitIfEarly(bytesMoved, lastReadNanos, waiting)) {
                waiting = bytesReadable();
            }
            if (waiting >= BulkPipes.DEFAULT_PIPE_BYTES && !bulkTried) {
                bulkTried = true;
                bulkPipe = bulkPipes.enlarge(fd);
            }
            bulk = waiting >= SPLICE_MIN;
            if (bulk) {
                int n = Math.min(waiting, SPLICE_MAX);
                bytesMoved += n;
                lastReadNanos = coalescing.now();
                announced = n;
                setInterest();
                host.sendSplicedData(sessionId, type, fd, n, left -> {
                    bytesMoved -= left; // dropped with a host's queue: read (and counted) again from the pipe
                    onSpliced();
                });
                return n;
            }
        }
        return copyOnce();
    }

    private int bytesReadable() {
        try {
            return io.bytesReadable(fd);
        } catch (OsException e) {
            return 0; // read() reports the fd's trouble
        }
    }

    /** The queue is done with the bytes announced: watch the pipe again. */
    private void onSpliced() {
        announced = 0;
        setInterest();
    }

    /** Reads the fd once into the read buffer and queues a copy. Same results as {@link #readOnce}. */
    int copyOnce() {
        ByteBuffer buf = readBuffer;
        buf.clear();
        int n;
        try {
            n = io.read(fd, buf);
        } catch (OsException e) {
            if (e.errno() != LibC.EIO) { // EIO is a PTY's end of file
                log.warn("session {}: reading {} failed: {}", sessionId, type, e.getMessage());
            }
            n = 0;
        }
        if (n > 0) {
            bytesMoved += n;
            if (bytesMoved >= BulkCoalescing.BULK_AFTER) {
                lastReadNanos = coalescing.now();
            }
            bulk = n >= SPLICE_MIN;
            host.sendData(sessionId, type, buf.flip());
        } else if (n == 0) {
            close();
        }
        return n;
    }

    /**
     * The end of the drain window: take what is already there (even past the high-water mark: the
     * leader wrote it before exiting), then close.
     */
    void drainAndClose() {
        takeAnnounced();
        long taken = 0;
        while (open && taken < FINAL_DRAIN_MAX) {
            int n = copyOnce();
            if (n <= 0) {
                break;
            }
            taken += n;
        }
        close();
    }

    /** Before the pump reads or closes the pipe itself: the queue reads out what it announced. */
    private void takeAnnounced() {
        if (announced > 0) {
            host.takeOutOfPipe(fd);
            announced = 0;
        }
    }

    /**
     * The output's end (EOF, the drain window, or the session's teardown): stops watching, gives the
     * bulk pipe back, and closes the fd if it is the pump's. Idempotent: the fd is closed once.
     */
    void close() {
        if (!open) {
            return;
        }
        open = false;
        takeAnnounced();
        if (bulkPipe) {
            bulkPipe = false;
            bulkPipes.released();
        }
        if (ownsFd) {
            reg.cancel();
            io.close(fd);
        } else {
            reg.setRead(false); // the PTY master is stdin too; the session closes it
        }
    }
}
