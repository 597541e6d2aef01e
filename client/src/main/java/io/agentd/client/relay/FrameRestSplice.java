package io.agentd.client.relay;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The rest of a large frame of the agent, from the port to its one client outside the splitter
 * ({@link FrameSplitter.Sink#frameStart}): by splice(2) through the client's pipe, so that its bytes
 * never pass through the relay's memory, or by copy through the port's read buffer (the client
 * left, the port cannot be spliced from, or its pipe is full at an agent that holds output). While
 * a rest is due nothing else is read from the port. Selector thread only.
 */
final class FrameRestSplice {
    private static final Logger log = LoggerFactory.getLogger(Relay.class);
    /**
     * A frame of the agent with at least this much still to come after a read goes to its client by
     * splice(2) through the client's pipe, not through the read buffer (see {@link #frameRest}).
     */
    static final int SPLICE_MIN = 32 * 1024;

    private final SocketChannel port;
    private final String portName;
    /** The port's fd for splice; splicing stops for good when it is unknown or the kernel refuses. */
    private final int portFd;
    private boolean spliceWorks;
    /** The port's read buffer, shared with the loop: a rest not spliced is copied through it. */
    private final ByteBuffer portBuffer;
    private final ClientOutput output;
    private final FlowControl flow;
    /** The frame whose rest the port is delivering to one client outside the splitter; null between. */
    private FrameRest frameRest;
    /** The last frame of the agent was spliced: the next read takes only the next frame's header. */
    private boolean expectBulk;
    /** The frame being spliced waits for its client's pipe to drain: nothing is read from the agent. */
    private boolean restStalled;
    /** The pipe filled by its slots, not its byte count: the stall lasts until it is empty. */
    private boolean stalledUntilEmpty;
    /** Bytes of the agent's frames that went to clients by splice (tests check the path is taken). */
    private volatile long splicedBytes;

    FrameRestSplice(SocketChannel port, String portName, ByteBuffer portBuffer, ClientOutput output, FlowControl flow) {
        this.port = port;
        this.portName = portName;
        this.portBuffer = portBuffer;
        this.output = output;
        this.flow = flow;
        this.portFd = ChannelFd.of(port);
        this.spliceWorks = portFd != ChannelFd.NONE && SplicePipe.available();
    }

    /** Large frames may be spliced: the port's fd is known and the kernel has not refused. */
    boolean works() {
        return spliceWorks;
    }

    /** A frame's rest is due from the port: it is read before anything else. */
    boolean due() {
        return frameRest != null;
    }

    /** The last frame of the agent was spliced: the next read takes only the next frame's header. */
    boolean expectsBulk() {
        return expectBulk;
    }

    /** A whole frame was read: the next read is not a header's alone. */
    void wholeFrameRead() {
        expectBulk = false;
    }

    /** From any thread. */
    long splicedBytes() {
        return splicedBytes;
    }

    /** The rest of a frame, due from the port to one client ({@code to} null: it left, the rest is read and dropped). */
    static final class FrameRest {
        RelayClient to;
        long left;

        FrameRest(RelayClient to, long left) {
            this.to = to;
            this.left = left;
        }
    }

    /**
     * A large frame of {@code owner}'s that the last read ends inside: its head goes into the client's
     * pipe (so the client gets header and body in one send) and its rest will follow by splice.
     * False (the splitter then assembles it by copying) when the client can have no pipe.
     */
    boolean start(RelayClient owner, ByteBuffer head, long rest) {
        if (pipeOf(owner) == null) {
            return false;
        }
        try {
            long written = owner.pipe.room() >= head.remaining() ? owner.pipe.write(head) : 0;
            if (written > 0) {
                output.spliced(owner, written);
            }
        } catch (IOException e) {
            log.debug("relay: writing a frame's head to the pipe of {}", owner, e);
        }
        if (head.hasRemaining()) {
            output.queue(owner, head); // the pipe had no room for it: it goes ahead of the pipe's next bytes
        }
        frameRest = new FrameRest(owner, rest);
        owner.restDue = true;
        return true;
    }

    /** The client's pipe, made at its first large frame; null when it cannot have one. */
    private SplicePipe pipeOf(RelayClient c) {
        if (c.pipe == null && !c.pipeFailed) {
            if (c.fd == ChannelFd.NONE) {
                c.pipeFailed = true;
                return null;
            }
            try {
                c.pipe = SplicePipe.open(c.fd);
                c.output.usePipe(c.pipe);
            } catch (IOException e) {
                c.pipeFailed = true;
                log.info("relay: {} gets its frames copied: {}", c, e.getMessage());
            }
        }
        return c.pipe;
    }

    enum RestProgress { DONE, WAITING, PORT_ENDED }

    /**
     * Moves what the port has of the frame being spliced: DONE when its last byte is queued, WAITING
     * when the port has no more now or the client's pipe is full (reads then stop until it drains).
     */
    RestProgress move() throws IOException {
        FrameRest rest = frameRest;
        while (rest.left > 0) {
            RelayClient to = rest.to;
            if (to == null || !spliceWorks) {
                long n = copyFrameRest(rest);
                if (n < 0) {
                    return RestProgress.PORT_ENDED;
                }
                if (n == 0) {
                    return RestProgress.WAITING;
                }
                continue;
            }
            if (to.pipe.room() == 0 && (!output.flushOrDrop(to) || to.pipe.room() == 0)) {
                if (rest.to == null) {
                    continue; // it broke and left: the rest is dropped
                }
                RestProgress stopped = pipeFull(rest, false);
                if (stopped != null) {
                    return stopped;
                }
                continue;
            }
            long n = to.pipe.fillFrom(portFd, Math.min(rest.left, to.pipe.room()));
            if (n == 0) {
                return RestProgress.PORT_ENDED;
            }
            if (n == SplicePipe.UNSUPPORTED) {
                log.info("relay: the port {} cannot be spliced from; its frames are copied", portName);
                spliceWorks = false;
                continue;
            }
            if (n > 0) {
                rest.left -= n;
                splicedBytes += n;
                output.spliced(to, n);
                continue;
            }
            // EAGAIN: an empty socket, or a pipe out of slots (its pages hold less than its byte
            // count says). The client takes what the pipe holds first; if it cannot take it all
            // and the port has bytes, it was the slots: reads wait until the pipe is empty.
            if (!output.flushOrDrop(to)) {
                continue;
            }
            if (to.pipe.held() > 0 && SplicePipe.readable(portFd) > 0) {
                RestProgress stopped = pipeFull(rest, true);
                if (stopped != null) {
                    return stopped;
                }
                continue;
            }
            return RestProgress.WAITING;
        }
        end(rest);
        return RestProgress.DONE;
    }

    /**
     * The client's pipe takes no more of the frame now (full, or out of slots: then the stall lasts
     * {@code untilEmpty}). With an agent that holds a client's output this stalls nobody: the frame's
     * rest goes to its client's queue by copy (after the pipe's bytes, in order), and a client that
     * does not read is paused at the agent when that queue passes the mark like any other. Otherwise
     * reads of the agent stall until the pipe drains. Null to go on; otherwise where the move stops
     * (the stall, its queue holding everyone up, or the port).
     */
    private RestProgress pipeFull(FrameRest rest, boolean untilEmpty) throws IOException {
        if (!flow.agentHoldsOutput()) {
            stall(untilEmpty);
            return RestProgress.WAITING;
        }
        long n = copyFrameRest(rest);
        if (n < 0) {
            return RestProgress.PORT_ENDED;
        }
        return n == 0 || flow.holdsUpAgent() || stalled() ? RestProgress.WAITING : null;
    }

    /** Reads the rest into the read buffer instead: for a client that left (dropped) or a port splice refuses. */
    private long copyFrameRest(FrameRest rest) throws IOException {
        portBuffer.clear().limit((int) Math.min(rest.left, portBuffer.capacity()));
        int n = port.read(portBuffer);
        if (n <= 0) {
            return n;
        }
        rest.left -= n;
        if (rest.to != null) {
            output.queue(rest.to, portBuffer.flip());
            output.sendBorrowed();
        }
        return n;
    }

    /** The frame's last byte is queued: the relay's own frames held back for its client follow it. */
    private void end(FrameRest rest) {
        frameRest = null;
        expectBulk = true;
        RelayClient c = rest.to;
        if (c != null) {
            c.restDue = false;
            output.restEnded(c);
        }
    }

    private void stall(boolean untilEmpty) {
        restStalled = true;
        stalledUntilEmpty = untilEmpty;
    }

    /**
     * The frame being spliced waits for its client's pipe to drain: reading the agent resumes once
     * the pipe has room again. Looked at whenever the loop asks: only the client's taking from its
     * pipe drains it, and nothing fills it meanwhile.
     */
    boolean stalled() {
        if (restStalled) {
            long held = frameRest.to.pipe.held();
            if (stalledUntilEmpty ? held == 0 : held <= frameRest.to.pipe.capacity() / 2) {
                restStalled = false;
            }
        }
        return restStalled;
    }

    /**
     * The agent died: the rest due, if any, will never come. Returns it (null when none was due),
     * its client no longer owed it; the next read is not a header's alone.
     */
    FrameRest cut() {
        expectBulk = false;
        FrameRest rest = frameRest;
        if (rest == null) {
            return null;
        }
        frameRest = null; // before drop: the rest is no longer due, not even to be read and dropped
        if (rest.to != null) {
            rest.to.restDue = false;
        }
        if (restStalled) {
            restStalled = false;
            stalledUntilEmpty = false;
        }
        return rest;
    }

    /** {@code c} is gone: a rest due to it is still in the port's stream, read and dropped. */
    void forget(RelayClient c) {
        if (c.restDue) {
            c.restDue = false;
            frameRest.to = null;
            if (restStalled) {
                restStalled = false;
            }
        }
    }
}
