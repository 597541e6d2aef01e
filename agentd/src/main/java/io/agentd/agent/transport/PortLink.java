package io.agentd.agent.transport;

import io.agentd.agent.loop.Loop;
import io.agentd.agent.loop.Loop.Registration;
import io.agentd.agent.loop.OutboundQueue;
import io.agentd.agent.sys.Os;
import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.ProtocolException;
import io.agentd.protocol.payload.ExecFailed;
import java.nio.ByteBuffer;
import java.util.function.IntConsumer;
import java.util.function.LongSupplier;

/**
 * The host connection, whatever carries it: frames in through the decoder, frames out through one
 * bounded {@link OutboundQueue} written when the fd is writable. The transport hands it an fd with
 * {@link #attach}; the link tells the transport when the host hangs up.
 *
 * <p>The link itself is the connection's state and what wires its two sides, after Netty's split of
 * a channel from its codec and its outbound buffer: {@link LinkReader} dispatches the host's frames,
 * which its {@link FrameFeed} reads from the fd and decodes, {@link LinkWriter} queues and writes
 * what goes to the host, and {@link LinkReadiness} hands the fd's events to the two sides. The link knows whether a host is
 * there (a port's host side can be absent: the first readiness without a hang-up says it came), and
 * decides how a host ends: its hang-up, and the drop ({@link HostDrop}) of a host whose stream was
 * lost or whose frame timed out. What a host is told when the agent refuses what it sent is
 * {@link HostRefusals}'s.
 *
 * <p>Backpressure is {@link QueueWaterMarks}'s decision (sessions stop reading their children at the
 * high-water mark; a host that sends without reading has its input paused); the link acts on it, its
 * writer at the marks' edges and its reader by holding the host's input.
 * {@link StallWatch} warns about a host that takes no output while some waits for it: the only sign
 * an operator gets of a host that stopped reading, or of a port that never turns writable again.
 */
public final class PortLink implements HostOutput {
    /** What the agent does with the host's traffic. Called on the loop thread. */
    public interface Listener {
        /** A host is there (new connection, or a port whose host side came back). */
        void onConnected();

        /** A frame from the host; a data frame's array is reused once this returns, so it is copied, not kept. */
        void onFrame(Frame frame);

        /** A frame the decoder refused (see {@link ProtocolException#kind()}). */
        void onProtocolError(ProtocolException e);

        /** The queue drained below half the high-water mark: sessions may read output again. */
        void onOutputResumed();

        /** The queue became empty. */
        void onFlushed();
    }

    /** The transport's part when the host goes away; the link is detached by then. */
    @FunctionalInterface
    public interface HangupHandler {
        /** @param wasConnected false when the host side was never there since {@link #attach} */
        void onHangup(boolean wasConnected);
    }

    private enum State { DETACHED, PROBING, CONNECTED }

    /**
     * Whether bulk output may be spliced from the children's pipes to the port fd (see
     * {@link OutboundQueue}). Sockets: yes. The virtio-serial port: no. With the guest's 6.1 kernel,
     * splicing 200 KB into /dev/vportNpM made QEMU 7.2 log "virtio: zero sized buffers are not
     * allowed" and stop serving the port: the kernel's splice path for virtio-console handed it an
     * empty buffer. The agent then waits forever for the port to become writable. So device ports
     * get copies.
     */
    public enum Splicing { SPLICE_OUTPUT, COPY_OUTPUT }

    /**
     * What follows a frame length the decoder cannot trust ({@link ErrorKind#losesStream()}): the
     * bytes after it may be the inside of a refused frame, and must never be read as frames.
     * {@code DROP_HOST}: the connection is closed once the core.error has had its chance to go out
     * (a socket: the host connects again and starts clean). {@code SKIP}: the decoder passes over
     * the declared length and the link goes on (a port, which cannot be reconnected from here).
     */
    public enum Resync { DROP_HOST, SKIP }

    private final Loop loop;
    /**
     * The frames for the host, and their writing; it also keeps whether the link was released
     * ({@link LinkWriter#released}), since from then on it drops what is sent.
     */
    private final LinkWriter writer;
    /** The host's frames, read and dispatched. */
    private final LinkReader reader;
    private final HostEventLog hostEvents;
    private Listener listener;
    private State state = State.DETACHED;
    /** The attached port fd's registration; null while detached. */
    private Registration reg;
    private HangupHandler onHangup;
    private Resync resync;
    /** The host being dropped (a lost stream, a frame timed out): nothing more is read; null unless dropping. */
    private HostDrop drop;
    /** The connection this link serves, as the lines about its host name it ({@link #name}). */
    private String who = "an unnamed link";

    /**
     * @param highWater queued bytes at which session output stops being read
     * @param stallWarnMillis how long the host may take nothing, with output queued, before a
     *        warning; 0 for never
     */
    public PortLink(Loop loop, long highWater, long stallWarnMillis) {
        this(loop, highWater, stallWarnMillis, new LargeFrameBudget(LargeFrameBudget.DEFAULT_BYTES));
    }

    /** @param largeFrames the budget of large incoming frames this link shares with the agent's others */
    public PortLink(Loop loop, long highWater, long stallWarnMillis, LargeFrameBudget largeFrames) {
        this(loop, highWater, stallWarnMillis, largeFrames, 0, new StalledInputLog(loop));
    }

    /**
     * @param frameTimeoutMillis how long the host may send no byte of a frame it began before it is
     *        dropped ({@link PartialFrameDeadline}); 0 for never (a port)
     * @param stalledInput the log lines of stalled input, shared with the agent's other links
     */
    public PortLink(Loop loop, long highWater, long stallWarnMillis, LargeFrameBudget largeFrames,
            long frameTimeoutMillis, StalledInputLog stalledInput) {
        this(loop, highWater, stallWarnMillis, largeFrames, frameTimeoutMillis, stalledInput, new HostEventLog(loop));
    }

    /**
     * @param hostEvents the log lines a host causes at its own rate (refused frames, hang-ups), shared
     *     with the agent's other links (one rate for all)
     */
    public PortLink(Loop loop, long highWater, long stallWarnMillis, LargeFrameBudget largeFrames,
            long frameTimeoutMillis, StalledInputLog stalledInput, HostEventLog hostEvents) {
        this(loop, highWater, stallWarnMillis, largeFrames, frameTimeoutMillis, stalledInput, hostEvents,
                OutboundTotal.unbounded(), loop::nanoTime);
    }

    /** @param outbound what every link of the agent queues together, against the agent's budget */
    public PortLink(Loop loop, long highWater, long stallWarnMillis, LargeFrameBudget largeFrames,
            long frameTimeoutMillis, StalledInputLog stalledInput, HostEventLog hostEvents, OutboundTotal outbound) {
        this(loop, highWater, stallWarnMillis, largeFrames, frameTimeoutMillis, stalledInput, hostEvents, outbound,
                loop::nanoTime);
    }

    /** @param clock nanoseconds, for the dispatch slice and the stall watch (the loop's, or a test's own) */
    PortLink(Loop loop, long highWater, long stallWarnMillis, LargeFrameBudget largeFrames, LongSupplier clock) {
        this(loop, highWater, stallWarnMillis, largeFrames, 0, new StalledInputLog(loop), new HostEventLog(loop),
                OutboundTotal.unbounded(), clock);
    }

    /** A link alone but for what it queues, counted with other links' in {@code outbound} (tests). */
    PortLink(Loop loop, long highWater, long stallWarnMillis, OutboundTotal outbound) {
        this(loop, highWater, stallWarnMillis, new LargeFrameBudget(LargeFrameBudget.DEFAULT_BYTES), 0,
                new StalledInputLog(loop), new HostEventLog(loop), outbound, loop::nanoTime);
    }

    private PortLink(Loop loop, long highWater, long stallWarnMillis, LargeFrameBudget largeFrames,
            long frameTimeoutMillis, StalledInputLog stalledInput, HostEventLog hostEvents, OutboundTotal outbound,
            LongSupplier clock) {
        this.loop = loop;
        this.hostEvents = hostEvents;
        this.writer = new LinkWriter(this, loop, highWater, stallWarnMillis, outbound, clock, hostEvents);
        this.reader = new LinkReader(this, writer, loop, largeFrames, frameTimeoutMillis, stalledInput, outbound,
                clock);
    }

    public void setListener(Listener listener) {
        this.listener = listener;
    }

    /**
     * Starts serving the host on {@code fd} (non-blocking; the transport keeps owning it). The first
     * readiness without a hang-up counts as "connected". {@code onHangup} runs once when the host goes
     * away. When the loop cannot watch {@code fd} (epoll_ctl fails: ENOSPC, ENOMEM) the exception is
     * thrown after the link is left detached again, nothing of it in the loop; the fd is the caller's.
     */
    public void attach(int fd, Splicing splicing, Resync resync, HangupHandler onHangup) {
        if (writer.released()) {
            throw new IllegalStateException("attach of a released link");
        }
        if (state != State.DETACHED) {
            throw new IllegalStateException("already attached");
        }
        this.onHangup = onHangup;
        this.resync = resync;
        writer.allowSplicedData(splicing == Splicing.SPLICE_OUTPUT);
        try {
            this.reg = loop.register(fd, events -> LinkReadiness.onEvents(this, events));
            state = State.PROBING;
            reg.setRead(true);
            reg.setWrite(true);
        } catch (RuntimeException e) {
            if (reg != null) {
                reg.cancel();
                reg = null;
            }
            state = State.DETACHED;
            this.onHangup = null;
            throw e;
        }
    }

    /**
     * Queues a frame. One the encoder refuses is never lost without a trace: a terminal frame goes
     * out as a minimal replacement, and the cause is logged (see {@link UnencodableFrames}).
     */
    @Override
    public void send(Frame frame) {
        writer.send(frame);
    }

    /**
     * Queues the greeting (core.ready) ahead of what is queued: on a port whose host comes back, the
     * frames of the sessions kept for it, queued while it was away, follow its ready as the protocol
     * says (PROTOCOL-EXTENSIONS.md, "The host-side relay's answers"); before, they came first, and a
     * relay that had just started dropped a kept session's exit there without telling the agent,
     * which tells only an agent whose ready it has read.
     */
    public void greet(Frame ready) {
        writer.sendFirst(ready);
    }

    /** False when output must be read and copied: the port cannot take spliced data. */
    @Override
    public boolean acceptsSplicedData() {
        return writer.acceptsSplicedData();
    }

    /** See {@link OutboundQueue#addSplicedData}. */
    @Override
    public void sendSplicedData(long id, MessageType type, int pipeFd, int length, IntConsumer onReleased) {
        writer.sendSplicedData(id, type, pipeFd, length, onReleased);
    }

    /** See {@link OutboundQueue#takeOutOfPipe}. */
    @Override
    public void takeOutOfPipe(int pipeFd) {
        writer.takeOutOfPipe(pipeFd);
    }

    /** Queues a stdout/stderr frame of the bytes between {@code data}'s position and limit (copied). */
    @Override
    public void sendData(long id, MessageType type, ByteBuffer data) {
        writer.sendData(id, type, data);
    }

    /** Names the connection this link serves in the lines about its host ("connection 3"). */
    public void name(String who) {
        this.who = who;
    }

    /** See {@link HostRefusals#refuse}. */
    @Override
    public void refuse(long id, ErrorKind kind, String offendingType, String message) {
        HostRefusals.refuse(this, id, kind, offendingType, message);
    }

    /** See {@link HostRefusals#refuseRace}. */
    @Override
    public void refuseRace(long id, ErrorKind kind, String offendingType, String message) {
        HostRefusals.refuseRace(this, id, kind, offendingType, message);
    }

    /** See {@link HostRefusals#refuseStdin}. */
    @Override
    public void refuseStdin(long id, Integer errno, String errnoName, String message) {
        HostRefusals.refuseStdin(this, id, errno, errnoName, message);
    }

    /** See {@link HostOutput#requestFailed}: under the agent's shared limit for such lines. */
    @Override
    public void requestFailed(long id, ExecFailed failed, String quotedCmd) {
        hostEvents.requestFailed(who, id, failed, quotedCmd);
    }

    /** See {@link HostRefusals#refuseRequest}. */
    public void refuseRequest(long id, ExecFailed failed) {
        HostRefusals.refuseRequest(this, id, failed);
    }

    /** See {@link LinkReader#holdForStart}. */
    public void holdInput() {
        reader.holdForStart();
    }

    /** See {@link LinkReader#startAnswered}. */
    public void releaseInput() {
        reader.startAnswered();
    }

    @Override
    public boolean hangUpPending() {
        return connected() && (dropping() || reader.waitsForStart()) && Os.peerClosed(reg.fd());
    }

    @Override
    public boolean hostAway() {
        return !connected() && !writer.released();
    }

    /** See {@link LinkReadiness#hangUpIfGone}. */
    @Override
    public boolean hangUpIfGone() {
        return LinkReadiness.hangUpIfGone(this);
    }

    /** The lines this link's host causes, at the rates shared with the agent's other links. */
    HostEventLog hostEvents() {
        return hostEvents;
    }

    /** False while the queue is above the high-water mark: do not read more session output. */
    @Override
    public boolean acceptsOutput() {
        return writer.acceptsOutput();
    }

    public boolean isFlushed() {
        return writer.isEmpty();
    }

    public long queuedBytes() {
        return writer.queuedBytes();
    }

    /** Drops the frames queued for a host that is gone (a new host must not see them). */
    public void discardOutput() {
        writer.discard();
    }

    /**
     * The link will never be attached again (its socket connection is over): the queue's segments
     * and the read buffer go back to their pools for the next connection. Frames sent after this are
     * dropped (none is expected: the connection's sessions and fs requests are gone by then).
     */
    public void release() {
        if (state != State.DETACHED) {
            throw new IllegalStateException("release of an attached link");
        }
        if (!writer.released()) {
            writer.release();
            reader.release();
        }
    }

    /** The host is there: its first readiness came, and no hang-up since. */
    boolean connected() {
        return state == State.CONNECTED;
    }

    /** Attached, and waiting for the first readiness to say whether a host is there. */
    boolean probing() {
        return state == State.PROBING;
    }

    /** Not attached: never yet, or the host hung up. */
    boolean detached() {
        return state == State.DETACHED;
    }

    /** The first readiness without a hang-up came: the host is there, and its listener told. */
    void hostCame() {
        state = State.CONNECTED;
        writer.hostConnected();
        listener.onConnected();
    }

    /** The attached fd's registration; null while detached. */
    Registration registration() {
        return reg;
    }

    /** The connection this link serves, as the lines about its host name it. */
    String who() {
        return who;
    }

    Listener listener() {
        return listener;
    }

    /** The host is being dropped: nothing more of its input is read or dispatched. */
    boolean dropping() {
        return drop != null;
    }

    /** A frame length the decoder cannot trust drops the host (a socket) rather than being skipped ({@link Resync}). */
    boolean dropsHostOnLostStream() {
        return resync == Resync.DROP_HOST;
    }

    /** What follows a lost stream on the attached fd: {@code SKIP} on a port, whose host side can be absent. */
    Resync resync() {
        return resync;
    }

    /** The link's input; the writer asks it about frames waiting for the next turn, and tells it what the host read. */
    LinkReader reader() {
        return reader;
    }

    /** The link's output; its readiness writes it. */
    LinkWriter writer() {
        return writer;
    }

    /** See {@link HostDrop#finish}: nothing unless the host is being dropped. */
    void finishDrop(String how) {
        if (drop != null) {
            drop.finish(how);
        }
    }

    /**
     * The host is dropped (its stream was lost on a DROP_HOST link, or a frame timed out): read
     * nothing more (the bytes still held or yet to come may be the inside of a refused frame), let
     * the core.error go out, then hang up.
     */
    void beginDrop(String why) {
        // Its callers run only while no drop is under way (a dropping link reads nothing, and the
        // frame deadline stops with the drop), so no earlier linger is left running.
        assert drop == null : "a second drop of one host";
        drop = new HostDrop(this, why);
        reader.dropAll();
        reg.setRead(false);
        reg.setWrite(true);
        drop.startLinger(loop);
    }

    /** The host is gone (or dropped): the link is detached and the transport told, once. */
    void hangup(String why) {
        boolean wasConnected = state == State.CONNECTED;
        if (wasConnected) {
            hostEvents.linkClosed(who, reg.fd(), why);
        }
        long cut = writer.dropPartlyWrittenFrame();
        if (cut > 0) {
            hostEvents.cutFrameDropped(who, reg.fd(), cut);
        }
        if (resync == Resync.SKIP) {
            long unread = reader.discardUnreadInput(reg.fd());
            if (unread > 0) {
                hostEvents.unreadInputDropped(who, reg.fd(), unread);
            }
        }
        reg.cancel();
        reg = null;
        state = State.DETACHED;
        writer.hostGone();
        reader.hostGone();
        if (drop != null) {
            drop.cancel();
            drop = null;
        }
        onHangup.onHangup(wasConnected);
    }
}
