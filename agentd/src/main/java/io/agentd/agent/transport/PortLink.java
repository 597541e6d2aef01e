package io.agentd.agent.transport;

import io.agentd.agent.LogText;
import io.agentd.agent.loop.DirectBufferPool;
import io.agentd.agent.loop.Loop;
import io.agentd.agent.loop.Loop.Registration;
import io.agentd.agent.loop.OutboundQueue;
import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.OsException;
import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameDecoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.ProtocolException;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.ExecStdinError;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host connection, whatever carries it: frames in through the decoder, frames out through one
 * bounded {@link OutboundQueue} written when the fd is writable. The transport hands it an fd with
 * {@link #attach}; the link tells the transport when the host hangs up.
 *
 * <p>Backpressure is {@link QueueWaterMarks}'s decision (sessions stop reading their children at the
 * high-water mark; a host that sends without reading has its input paused); the link acts on it.
 * {@link StallWatch} warns about a host that takes no output while some waits for it: the only sign
 * an operator gets of a host that stopped reading, or of a port that never turns writable again.
 */
public final class PortLink implements HostOutput {
    private static final Logger log = LoggerFactory.getLogger(PortLink.class);

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

    /** The most a hang-up reads away of what the gone host left unread: a port's kernel buffer holds far less. */
    private static final long MAX_UNREAD_DISCARD = 64L << 20;

    /** After a lost stream, how long the host gets to read what is queued before the drop. */
    static final long DROP_LINGER_MILLIS = 1000;

    /**
     * How long one readiness of the port may dispatch frames before the link yields the loop. Frames
     * can be slow (an exec.request spawns a process), and a host that sends thousands at once would
     * otherwise hold the loop for seconds: every other host, timer and session waits. Past this
     * slice the rest waits for the next turn, after every other ready fd and due timer.
     */
    static final long DISPATCH_SLICE_NANOS = TimeUnit.MILLISECONDS.toNanos(2);

    private final Loop loop;
    /** The frames for the host, and their writing. */
    private final LinkWriter writer;
    /** Replaced at a frame boundary after a large frame: the old one keeps its array for reuse. */
    private FrameDecoder decoder = FrameDecoder.forAgent();
    private final FrameAdmission admission;
    /** Waiting for room in the large-frame budget: input is not read, the bytes held wait in inBuf. */
    private final BudgetWait budgetWait;
    /** Drops a socket host that leaves a frame unfinished (--frame-timeout). */
    private final PartialFrameDeadline frameDeadline;
    private final StalledInputLog stalledInput;
    private final HostEventLog hostEvents;
    /**
     * Bytes read and not yet fed to the decoder sit at its start (write mode): an incomplete length
     * prefix, or what follows a large frame waiting for the budget.
     */
    private ByteBuffer inBuf = DirectBufferPool.READS.take(); // null once released
    private Listener listener;
    private State state = State.DETACHED;
    /** The attached port fd's registration; null while detached. */
    private Registration reg;
    private HangupHandler onHangup;
    private Resync resync;
    /** {@link #release} gave inBuf back: the link may not be attached again. */
    private boolean released;
    /** Set when the host is being dropped (a lost stream, a frame timed out): nothing more is read. */
    private boolean dropping;
    /** Why, for the hang-up's log line. */
    private String dropReason;
    /** The connection this link serves, as the lines about its host name it ({@link #name}). */
    private String who = "an unnamed link";
    /** Drops the host if the queue has not drained by then; null unless dropping. */
    private Loop.Timer dropDeadline;
    private final LongSupplier clock;
    /** When this turn's dispatching began: see {@link #DISPATCH_SLICE_NANOS}. */
    private long sliceStart;
    /**
     * The slice ran out: frames decoded and bytes held wait for {@link #resumeDispatch} in the next
     * turn, and the port is not read meanwhile (nothing may overtake them).
     */
    private Loop.Timer yielded;
    /**
     * The host's input is paused (it does not read its answers) and frames it sent before that were
     * left undispatched: they wait, with the bytes held, until the queue drains under the mark (see
     * {@link #dispatchDecoded}). Set only while {@link QueueWaterMarks#inputPaused()}.
     */
    private boolean heldByPause;
    /**
     * A frame whose answer may be large (an attach), held with the bytes after it while the hosts'
     * queues are past the agent's budget and this host has not read what was queued before it.
     */
    private final RoomWait roomWait;

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
        this.clock = clock;
        this.admission = new FrameAdmission(largeFrames);
        this.budgetWait = new BudgetWait(loop, largeFrames, clock, stalledInput, this::onBudgetRoom);
        this.writer = new LinkWriter(this, loop, highWater, stallWarnMillis, outbound, clock, hostEvents);
        this.roomWait = new RoomWait(writer, outbound, stalledInput, this::onRoomBack);
        this.hostEvents = hostEvents;
        this.stalledInput = stalledInput;
        this.frameDeadline = new PartialFrameDeadline(loop, frameTimeoutMillis, new PartialFrameDeadline.Subject() {
            @Override
            public boolean holdsPartialFrame() {
                // Between reads inBuf is in write mode: its position counts the bytes held.
                return state == State.CONNECTED && !dropping && (decoder.midFrame() || inBuf.position() > 0);
            }

            @Override
            public boolean reading() {
                // A host that reads none of its answers stops its own input, and while a large frame it
                // began holds a share of the budget other hosts' frames wait for, that time is its own:
                // else it could hold the share for ever. Otherwise the agent's own reasons (the budget,
                // a yielded slice) and backpressure stop the clock.
                // Nor is time epoll refuses the link's fd back (the loop retries it): nothing is read then.
                return (mayRead() && !reg.awaitingWatch()) || (admission.midLargeFrame() && onlyBackpressureHoldsInput());
            }

            @Override
            public boolean midLargeFrame() {
                return admission.midLargeFrame();
            }

            @Override
            public long largeFrameBytes() {
                return admission.largeFrameBytes();
            }

            @Override
            public long largeFramesBegun() {
                return admission.largeFramesBegun();
            }

            @Override
            public void expired(long idleMillis) {
                frameTimedOut(idleMillis);
            }
        }, clock);
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
        if (released) {
            throw new IllegalStateException("attach of a released link");
        }
        if (state != State.DETACHED) {
            throw new IllegalStateException("already attached");
        }
        this.onHangup = onHangup;
        this.resync = resync;
        writer.allowSplicedData(splicing == Splicing.SPLICE_OUTPUT);
        try {
            this.reg = loop.register(fd, this::onEvents);
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
        if (droppedAfterRelease(frame.id(), frame.type())) {
            return;
        }
        writer.send(frame);
    }

    /** False when output must be read and copied: the port cannot take spliced data. */
    @Override
    public boolean acceptsSplicedData() {
        return writer.acceptsSplicedData();
    }

    /** See {@link OutboundQueue#addSplicedData}. */
    @Override
    public void sendSplicedData(long id, MessageType type, int pipeFd, int length, IntConsumer onReleased) {
        if (droppedAfterRelease(id, type)) {
            onReleased.accept(length); // the bytes stay in the pipe, the caller's again
            return;
        }
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
        if (droppedAfterRelease(id, type)) {
            return;
        }
        writer.sendData(id, type, data);
    }

    /** Names the connection this link serves in the lines about its host ("connection 3"). */
    public void name(String who) {
        this.who = who;
    }

    /**
     * Answers a frame the agent cannot use with core.error on its id, and logs it (never the payload;
     * see {@link HostEventLog} for the rate).
     */
    @Override
    public void refuse(long id, ErrorKind kind, String offendingType, String message) {
        hostEvents.refused(who, id, offendingType, kind.wire(), message);
        sendRefusal(id, kind, offendingType, message);
    }

    @Override
    public void refuseRace(long id, ErrorKind kind, String offendingType, String message) {
        hostEvents.racedRefusal(who, id, offendingType, kind.wire(), message);
        sendRefusal(id, kind, offendingType, message);
    }

    private void sendRefusal(long id, ErrorKind kind, String offendingType, String message) {
        send(new Frame(id, MessageType.CORE_ERROR, new ErrorPayload(kind.wire(), message, offendingType)));
    }

    /**
     * Tells the host that stdin data of session {@code id} was not delivered (core.exec.stdin.error),
     * and logs it under the same rate limit as refused frames.
     */
    @Override
    public void refuseStdin(long id, Integer errno, String errnoName, String message) {
        hostEvents.stdinRefused(who, id, errnoName, message);
        send(new Frame(id, MessageType.EXEC_STDIN_ERROR, new ExecStdinError(errno, errnoName, message)));
    }

    /** See {@link HostOutput#requestFailed}: under the agent's shared limit for such lines. */
    @Override
    public void requestFailed(long id, ExecFailed failed, String quotedCmd) {
        hostEvents.requestFailed(who, id, failed, quotedCmd);
    }

    /**
     * Answers an exec.request the codec refused (it never became a session) with {@code failed},
     * logged as the failed request it is to the host (not as a refused frame, which is answered with
     * core.error): at the limited rate of failed requests, since a host can send them in a loop. Its
     * cmd was never decoded; the message says what was too large.
     */
    public void refuseRequest(long id, ExecFailed failed) {
        hostEvents.requestFailed(who, id, failed, "(not decoded)");
        send(new Frame(id, MessageType.EXEC_FAILED, failed));
    }

    /**
     * See {@link HostOutput#hangUpIfGone}: the host's end is asked with poll(2), and its hang-up runs
     * as epoll would have run it (its last frames dispatched first, in order). A host that is gone
     * sends nothing more, so what it left is bounded (what the kernel holds for it and the bytes the
     * link holds): all of it is dispatched here, slice after slice, without waiting for later turns
     * (frames that waited for the next turn too), and the hang-up follows. False when the host's end
     * is open, or the link is not connected or drops its host already.
     */
    @Override
    public boolean hangUpIfGone() {
        if (state != State.CONNECTED || dropping || !Os.peerClosed(reg.fd())) {
            return false;
        }
        if (yielded == null) {
            onEvents(Loop.HANGUP);
        }
        // Every pass dispatches at least one frame, and the gone host adds none: this ends.
        while (state == State.CONNECTED && !dropping && yielded != null) {
            yielded.cancel();
            resumeDispatch(); // what the slice left, in order, in a fresh slice
            if (state == State.CONNECTED && !dropping && yielded == null) {
                onEvents(Loop.HANGUP); // the rest of its input, then the hang-up
            }
        }
        return state == State.DETACHED;
    }

    /** Whether a line about this link's host coming or going may be logged now ({@link HostEventLog}'s rate). */
    boolean takeConnectionLine() {
        return hostEvents.takeConnectionLine();
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
        if (!released) {
            released = true;
            writer.release();
            DirectBufferPool.READS.give(inBuf);
            inBuf = null; // a later touch fails here, not in the next connection's buffer
        }
    }

    /** The host is there: its first readiness came, and no hang-up since. */
    boolean connected() {
        return state == State.CONNECTED;
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

    /** Frames read wait for the next turn (the slice ran out): a hang-up, or a failed write, waits for them. */
    boolean framesWaitForNextTurn() {
        return yielded != null;
    }

    /** True (and the frame is dropped) once the link is released: nobody will ever read it. */
    private boolean droppedAfterRelease(long id, MessageType type) {
        if (released) {
            log.debug("{} for id {} after its connection was over: dropped", type, id);
        }
        return released;
    }

    /** The host's input pause ended: the frames it held go first (next turn, in a slice of their own), then reading. */
    void backpressureEnded() {
        if (heldByPause) {
            // The frames left waiting go first (next turn, in a slice of their own), then reading.
            heldByPause = false;
            if (state == State.CONNECTED && !dropping && yielded == null) {
                yielded = loop.schedule(0, this::resumeDispatch);
            }
        } else {
            readAgainIfAllowed();
        }
    }

    /** The host took some of its output: a frame waiting for room may go. */
    void hostTookOutput() {
        if (roomWait.hostReadToMark() && !writer.inputPaused()) {
            // The host took all that was queued before the frame: it goes on, live output queued since or
            // not. (While its input is paused, the frame waits for that to end: backpressureEnded.)
            onRoomBack();
        }
    }

    private void onEvents(int events) {
        sliceStart = clock.getAsLong();
        if (state == State.PROBING) {
            // Only a port's host side can be absent. A socket's host is there from its accept: one
            // that wrote and closed before this first event has its frames read below, then the hang-up.
            if ((events & Loop.HANGUP) != 0 && resync == Resync.SKIP) {
                hangup("host side not connected");
                return;
            }
            state = State.CONNECTED;
            writer.hostConnected();
            listener.onConnected();
            writeTheGreetingFirst(events);
        }
        if ((events & Loop.HANGUP) != 0 && yielded != null) {
            // Frames wait for the next turn: the hang-up waits with them (epoll reports it again once
            // the port is read again), and so does a write, which would fail on the gone host (EPIPE)
            // and drop them.
            return;
        }
        if ((events & Loop.HANGUP) != 0) {
            // Take what the host sent before it went away, then let the transport decide. (A host
            // whose input is paused has the frames it sent past the pause dropped, logged: it read
            // none of their answers, and what they would queue has no bound.)
            while (state == State.CONNECTED && !dropping && readInput()) {
                // keep reading
            }
            if (state == State.CONNECTED && yielded == null) {
                hangup(withDroppedInput("hang-up"));
            }
            return;
        }
        if (state == State.CONNECTED && reg.reading()
                && (events & (Loop.READABLE | Loop.ERROR)) != 0) {
            readInput();
        }
        if (state == State.CONNECTED && reg.writing()
                && (events & (Loop.WRITABLE | Loop.ERROR)) != 0) {
            writer.flush();
        }
    }

    /**
     * On a port, what the connect queued (core.ready) is written before the host's first input is
     * read. A port's host may have written long before the guest opened the port (agentctl's pings
     * while it waits for ready, which QEMU holds until then): decoding and answering those, the
     * agent's first frames under a cold JIT, is slow under TCG (BENCHMARKS.md), and the ready that the
     * host waits for was written after them, at the end of the turn. Not on a socket: one whose host
     * wrote and closed before this first event has its frames read first, and a vsock peer's close is
     * no hang-up to epoll (readable, writable, RDHUP), so the write would fail with EPIPE and end the
     * link before they were read. Nor on a port's hang-up, for the same reason.
     */
    private void writeTheGreetingFirst(int events) {
        if (resync != Resync.SKIP || state != State.CONNECTED || writer.isEmpty()
                || (events & Loop.HANGUP) != 0 || (events & Loop.WRITABLE) == 0) {
            return;
        }
        writer.flushNow();
    }

    /** One read from the port, decoded and dispatched; true when bytes were read. */
    private boolean readInput() {
        if (budgetWait.waiting() || holdsFrames() || !inBuf.hasRemaining()) {
            return false; // what is held must go to the decoder first
        }
        int n;
        try {
            n = Os.read(reg.fd(), inBuf);
        } catch (OsException e) {
            hangup(e.getMessage());
            return false;
        }
        if (n == Os.WOULD_BLOCK) {
            return false;
        }
        if (n == 0) {
            hangup(withDroppedInput("end of input"));
            return false;
        }
        processInput();
        if (state == State.CONNECTED && !dropping) {
            frameDeadline.progressed();
        }
        return true;
    }

    /**
     * {@code why}, and what of the host's input the close drops, so that nothing is cut silently:
     * the part of a frame the host never finished, and bytes read but not yet decoded (a large frame
     * waiting for the budget). Called between reads, where inBuf's position counts the bytes held.
     */
    private String withDroppedInput(String why) {
        StringBuilder text = new StringBuilder(why);
        String unfinished = decoder.unfinishedFrame();
        if (unfinished != null) {
            text.append("; ").append(unfinished).append(" was dropped");
        }
        if (inBuf.position() > 0) {
            text.append("; ").append(inBuf.position()).append(" bytes read and not yet decoded were dropped");
        }
        if (heldByPause) {
            text.append("; frames read while the host did not read its answers were dropped undispatched");
        }
        if (roomWait.holdsFrame()) {
            text.append("; a ").append(roomWait.heldType().wire())
                    .append(" waiting for the hosts' queues to drain was dropped undispatched");
        }
        return text.toString();
    }

    /** Between frames, the decoder's large arrays go, and their share of the budget with them. */
    private boolean releaseRetainedAtBoundary() {
        if (state == State.CONNECTED && !dropping && admission.atBoundary() && admission.retained() > 0) {
            decoder = FrameDecoder.forAgent(); // nothing of a frame in it
            admission.releaseRetained();
            return true;
        }
        return false;
    }

    /**
     * Feeds the decoder what {@link FrameAdmission} admits of the bytes held, and dispatches the
     * frames they complete. Stopped by a large frame the budget has no room for, the link stops
     * reading and waits for room ({@link LargeFrameBudget}); the rest stays held.
     */
    private void processInput() {
        inBuf.flip();
        while (state == State.CONNECTED && !dropping && inBuf.hasRemaining()) {
            int n = admission.admissible(inBuf);
            if (n > 0) {
                int limit = inBuf.limit();
                inBuf.limit(inBuf.position() + n);
                decoder.feed(inBuf);
                inBuf.limit(limit);
                dispatchDecoded();
                if (holdsFrames()) {
                    break; // the decoder holds frames still: it stays
                }
            }
            if (releaseRetainedAtBoundary()) {
                continue;
            }
            if (n == 0) {
                break;
            }
        }
        // Also with nothing held: the frames after a large one may have been dispatched in a later
        // turn (the slice ran out), and a host idle between frames must hold none of the budget.
        if (!holdsFrames()) {
            releaseRetainedAtBoundary();
        }
        if (released) {
            return; // a frame dispatched above ended this connection, and its buffer went back
        }
        if (state != State.CONNECTED || dropping) {
            inBuf.clear();
            return;
        }
        inBuf.compact();
        if (holdsFrames()) {
            return; // resumeDispatch feeds the rest
        }
        if (admission.waiting()) {
            reg.setRead(false);
            budgetWait.begin(who, reg.fd());
        }
    }

    /**
     * The host began a frame and sent no byte of it for --frame-timeout: it is told on id 0 and
     * dropped like a host whose stream was lost, which gives back its large-frame reservation at once
     * and its connection place once the core.error had its chance to go out.
     */
    private void frameTimedOut(long idleMillis) {
        String unfinished = decoder.unfinishedFrame();
        if (unfinished == null) {
            unfinished = "a frame cut short in its length (" + inBuf.position() + " bytes)";
        }
        // A large frame holds its share of the budget: a byte now and then does not keep it.
        String missing = admission.midLargeFrame()
                ? "less than " + PartialFrameDeadline.LARGE_FRAME_PROGRESS_BYTES / 1024 + " KiB more"
                : "no byte";
        stalledInput.frameTimedOut(who, reg.fd(), idleMillis, missing, unfinished);
        send(new Frame(Protocol.CONTROL_ID, MessageType.CORE_ERROR, new ErrorPayload(ErrorKind.MALFORMED_MESSAGE.wire(),
                missing + " of a frame begun came for " + idleMillis + " ms (the agent's --frame-timeout);"
                        + " the connection is closed", null)));
        beginDrop("dropped: " + unfinished + " got " + missing + " for " + idleMillis + " ms (--frame-timeout)");
    }

    /** Room in the budget: the held bytes first, then reading again (unless backpressure holds it). */
    private void onBudgetRoom() {
        if (!budgetWait.waiting() || state != State.CONNECTED) {
            return;
        }
        budgetWait.end();
        processInput();
        readAgainIfAllowed();
    }

    /** Nothing holds input back: not the budget, not a yielded slice, not a host that does not read. */
    private boolean mayRead() {
        return state == State.CONNECTED && !dropping && !budgetWait.waiting() && !holdsFrames()
                && !writer.inputPaused();
    }

    /** The host's not reading its answers is all that stops its input being read. */
    private boolean onlyBackpressureHoldsInput() {
        return state == State.CONNECTED && !dropping && !budgetWait.waiting() && yielded == null && !roomWait.holdsFrame()
                && writer.inputPaused();
    }

    /** Frames read wait undispatched: the slice ran out, the host's input is paused, or a frame waits for room. */
    private boolean holdsFrames() {
        return yielded != null || heldByPause || roomWait.holdsFrame();
    }

    /**
     * The queues are back within the budget, or the host has taken what was queued before the frame
     * that waits: it is dispatched next turn, then the rest.
     */
    private void onRoomBack() {
        if (state == State.CONNECTED && !dropping && roomWait.holdsFrame() && yielded == null) {
            yielded = loop.schedule(0, this::resumeDispatch);
        }
    }

    /** The slice ran out with frames left: the port is not read until they are dispatched, next turn. */
    private void yieldLoop() {
        reg.setRead(false);
        yielded = loop.schedule(0, this::resumeDispatch);
    }

    /** The next turn: the frames decoded first, then the bytes held, then reading again. */
    private void resumeDispatch() {
        yielded = null;
        if (state != State.CONNECTED || dropping) {
            return;
        }
        sliceStart = clock.getAsLong();
        dispatchDecoded();
        if (!holdsFrames() && state == State.CONNECTED && !dropping) {
            processInput();
        }
        if (writer.writesLost() != null && yielded == null && state == State.CONNECTED) {
            // A host that shut only its reading side sends on, its answers dropped: no more.
            hangup(writer.writesLost() + "; the frames it had sent were handled, their answers dropped");
            return;
        }
        readAgainIfAllowed();
    }

    /** Reads the host again unless something still holds input back; its frame deadline starts over. */
    private void readAgainIfAllowed() {
        if (mayRead()) {
            reg.setRead(true);
            frameDeadline.progressed();
        }
    }

    /**
     * Dispatches the frames decoded, until the slice runs out or the host's input is paused. A paused
     * host does not read its answers, and one small request can queue a large one (an attach replays
     * up to a session's whole kept output, a list names every session): the frames it sent before
     * the pause wait like the bytes it has not sent yet, so what it can make the agent queue is the
     * pause mark plus one request's answer. Nothing the queue needs to drain waits with them: it
     * drains by the host reading, and once it is back under the mark they are dispatched in order.
     */
    private void dispatchDecoded() {
        while (state == State.CONNECTED) {
            if (!dropping && writer.inputPaused()) {
                heldByPause = true;
                return;
            }
            Frame frame;
            if (roomWait.holdsFrame()) {
                frame = roomWait.takeIfRoom();
                if (frame == null) {
                    return;
                }
            } else try {
                frame = decoder.next();
                if (frame != null && roomWait.holdsBack(frame)) {
                    reg.setRead(false);
                    roomWait.logHeld(who, reg.fd());
                    return;
                }
            } catch (ProtocolException e) {
                try {
                    listener.onProtocolError(e);
                } catch (RuntimeException bug) {
                    // As for a frame below: thrown on to the loop, it left the read buffer mid-frame.
                    log.error("the refusal of a frame ({}) could not be handled; the link goes on with the next frame",
                            e.kind().wire(), bug);
                }
                if (e.kind().losesStream() && resync == Resync.DROP_HOST) {
                    beginDrop("dropped after a frame length it cannot trust");
                    break;
                }
                continue;
            }
            if (frame == null) {
                break;
            }
            try {
                listener.onFrame(frame);
            } catch (RuntimeException bug) {
                // A handler's bug: the frame is lost (logged), the link goes on in step with the next one.
                // Thrown on to the loop, it left the read buffer mid-frame and every later frame misread.
                log.error("frame id={} type={} could not be handled; the link goes on with the next frame",
                        frame.id(), frame.type().wire(), bug);
            }
            decoder.recycle(frame);
            if (state == State.CONNECTED && !dropping && clock.getAsLong() - sliceStart > DISPATCH_SLICE_NANOS) {
                yieldLoop();
                return;
            }
        }
    }

    /**
     * What a write the host took, or could not take, means for a host being dropped: the drop ends
     * with the hang-up, {@code how} saying what became of the queue.
     */
    void finishDrop(String how) {
        if (dropping && state == State.CONNECTED) {
            hangup(dropReason + "; " + how);
        }
    }


    /**
     * The host is dropped (its stream was lost on a DROP_HOST link, or a frame timed out): read
     * nothing more (the bytes still held or yet to come may be the inside of a refused frame), let
     * the core.error go out, then hang up.
     */
    private void beginDrop(String why) {
        dropping = true;
        heldByPause = false; // the decoder is reset: nothing is held
        roomWait.forget();
        dropReason = why;
        frameDeadline.stop();
        decoder.reset();
        forgetInput();
        reg.setRead(false);
        reg.setWrite(true);
        dropDeadline = loop.schedule(DROP_LINGER_MILLIS, () -> {
            dropDeadline = null;
            if (state == State.CONNECTED) {
                hangup(dropReason + "; " + writer.queuedBytes()
                        + " bytes the host did not read in " + DROP_LINGER_MILLIS + " ms");
            }
        });
    }

    /** Nothing held is ever fed: the reservations go back, and this link waits for the budget no more. */
    private void forgetInput() {
        budgetWait.cancel();
        inBuf.clear();
        admission.reset();
    }

    /**
     * What a port's host that left had sent and the agent had not read yet (it held the host's input:
     * the budget, or a host that did not read its answers). The port outlives its host: left there,
     * those bytes, the middle of that host's stream, would be read as the first of the next host's,
     * and a frame length read from the middle of a frame can skip up to 4 GiB of what it sends.
     */
    private long discardUnreadInput(int fd) {
        long total = 0;
        try {
            for (int n; total < MAX_UNREAD_DISCARD && (n = Os.read(fd, inBuf.clear())) > 0; ) {
                total += n;
            }
        } catch (OsException gone) {
            // nothing more to read
        }
        inBuf.clear();
        return total;
    }

    /** The host is gone (or dropped): the link is detached and the transport told, once. */
    void hangup(String why) {
        boolean wasConnected = state == State.CONNECTED;
        if (wasConnected && hostEvents.takeConnectionLine()) {
            log.info("{}: host link on fd {} closed: {}", who, reg.fd(), LogText.message(why));
        }
        long cut = writer.dropPartlyWrittenFrame();
        if (cut > 0 && hostEvents.takeConnectionLine()) {
            log.info("{}: host link on fd {}: the rest of a frame cut by the hang-up dropped ({} bytes)", who, reg.fd(), cut);
        }
        if (resync == Resync.SKIP) {
            long unread = discardUnreadInput(reg.fd());
            if (unread > 0 && hostEvents.takeConnectionLine()) {
                log.info("{}: host link on fd {}: {} bytes the host sent and the agent had not read (its input was held)"
                        + " dropped with it", who, reg.fd(), unread);
            }
        }
        reg.cancel();
        reg = null;
        state = State.DETACHED;
        writer.hostGone();
        frameDeadline.stop();
        decoder.reset();
        forgetInput();
        heldByPause = false;
        roomWait.forget();
        dropping = false;
        dropReason = null;
        if (dropDeadline != null) {
            dropDeadline.cancel();
            dropDeadline = null;
        }
        if (yielded != null) {
            yielded.cancel();
            yielded = null;
        }
        onHangup.onHangup(wasConnected);
    }
}
