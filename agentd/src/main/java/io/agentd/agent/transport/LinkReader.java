package io.agentd.agent.transport;

import io.agentd.agent.loop.DirectBufferPool;
import io.agentd.agent.loop.Loop;
import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.OsException;
import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameDecoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.ProtocolException;
import io.agentd.protocol.payload.ErrorPayload;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A link's input from its host: the fd read into one buffer, fed to the {@link FrameDecoder} as far
 * as {@link FrameAdmission} admits it, and the frames dispatched to the link's listener in slices of
 * the loop's time ({@link #DISPATCH_SLICE_NANOS}), in the order the host sent them. Input is held
 * (the fd not read, what was read kept undispatched, nothing overtaking it) while a large frame
 * waits for room in the budget ({@link BudgetWait}), while the frames of a slice that ran out wait
 * for the next turn, while the host does not read its answers (its queue's water marks, which
 * {@link LinkWriter} keeps), and while a frame whose answer may be large waits for room
 * ({@link RoomWait}). A socket host that leaves a frame unfinished is dropped
 * ({@link PartialFrameDeadline}). When the host goes, and whether it is dropped, is {@link PortLink}'s
 * to decide. Loop thread only.
 */
final class LinkReader {
    private static final Logger log = LoggerFactory.getLogger(PortLink.class); // the links' lines

    /**
     * How long one readiness of the port may dispatch frames before the link yields the loop. Frames
     * can be slow (an exec.request spawns a process), and a host that sends thousands at once would
     * otherwise hold the loop for seconds: every other host, timer and session waits. Past this
     * slice the rest waits for the next turn, after every other ready fd and due timer.
     */
    static final long DISPATCH_SLICE_NANOS = TimeUnit.MILLISECONDS.toNanos(2);

    /** The most a hang-up reads away of what the gone host left unread: a port's kernel buffer holds far less. */
    private static final long MAX_UNREAD_DISCARD = 64L << 20;

    private final PortLink link;
    private final LinkWriter writer;
    private final Loop loop;
    private final LongSupplier clock;
    /** Replaced at a frame boundary after a large frame: the old one keeps its array for reuse. */
    private FrameDecoder decoder = FrameDecoder.forAgent();
    private final FrameAdmission admission;
    /** Waiting for room in the large-frame budget: input is not read, the bytes held wait in inBuf. */
    private final BudgetWait budgetWait;
    /** Drops a socket host that leaves a frame unfinished (--frame-timeout). */
    private final PartialFrameDeadline frameDeadline;
    private final StalledInputLog stalledInput;
    /**
     * Bytes read and not yet fed to the decoder sit at its start (write mode): an incomplete length
     * prefix, or what follows a large frame waiting for the budget.
     */
    private ByteBuffer inBuf = DirectBufferPool.READS.take(); // null once released
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
     * @param writer the same link's output: its water marks pause this input, and a frame waiting
     *     for room waits for the host to read it
     * @param frameTimeoutMillis see {@link PartialFrameDeadline}; 0 for never
     */
    LinkReader(PortLink link, LinkWriter writer, Loop loop, LargeFrameBudget largeFrames, long frameTimeoutMillis,
            StalledInputLog stalledInput, OutboundTotal outbound, LongSupplier clock) {
        this.link = link;
        this.writer = writer;
        this.loop = loop;
        this.clock = clock;
        this.stalledInput = stalledInput;
        this.admission = new FrameAdmission(largeFrames);
        this.budgetWait = new BudgetWait(loop, largeFrames, clock, stalledInput, this::onBudgetRoom);
        this.roomWait = new RoomWait(writer, outbound, stalledInput, this::onRoomBack);
        this.frameDeadline = new PartialFrameDeadline(loop, frameTimeoutMillis, new PartialFrameDeadline.Subject() {
            @Override
            public boolean holdsPartialFrame() {
                // Between reads inBuf is in write mode: its position counts the bytes held.
                return serving() && (decoder.midFrame() || inBuf.position() > 0);
            }

            @Override
            public boolean reading() {
                // A host that reads none of its answers stops its own input, and while a large frame it
                // began holds a share of the budget other hosts' frames wait for, that time is its own:
                // else it could hold the share for ever. Otherwise the agent's own reasons (the budget,
                // a yielded slice) and backpressure stop the clock.
                // Nor is time epoll refuses the link's fd back (the loop retries it): nothing is read then.
                return (mayRead() && !link.registration().awaitingWatch())
                        || (admission.midLargeFrame() && onlyBackpressureHoldsInput());
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

    /** The host is there and not being dropped: what it sends is read and dispatched. */
    private boolean serving() {
        return link.connected() && !link.dropping();
    }

    /** The fd is ready: this turn's dispatching begins now ({@link #DISPATCH_SLICE_NANOS}). */
    void startSlice() {
        sliceStart = clock.getAsLong();
    }

    /** Frames read wait for the next turn (the slice ran out): a hang-up, or a failed write, waits for them. */
    boolean framesWaitForNextTurn() {
        return yielded != null;
    }

    /**
     * What waits for the next turn is dispatched now, in a fresh slice: the host is gone, and sends
     * nothing more ({@link PortLink#hangUpIfGone}).
     */
    void dispatchWaitingNow() {
        yielded.cancel();
        resumeDispatch();
    }

    /** One read from the port, decoded and dispatched; true when bytes were read. */
    boolean read() {
        if (budgetWait.waiting() || holdsFrames() || !inBuf.hasRemaining()) {
            return false; // what is held must go to the decoder first
        }
        int n;
        try {
            n = Os.read(link.registration().fd(), inBuf);
        } catch (OsException e) {
            link.hangup(e.getMessage());
            return false;
        }
        if (n == Os.WOULD_BLOCK) {
            return false;
        }
        if (n == 0) {
            link.hangup(withDroppedInput("end of input"));
            return false;
        }
        processInput();
        if (serving()) {
            frameDeadline.progressed();
        }
        return true;
    }

    /**
     * {@code why}, and what of the host's input the close drops, so that nothing is cut silently:
     * the part of a frame the host never finished, and bytes read but not yet decoded (a large frame
     * waiting for the budget). Called between reads, where inBuf's position counts the bytes held.
     */
    String withDroppedInput(String why) {
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
        if (serving() && admission.atBoundary() && admission.retained() > 0) {
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
        while (serving() && inBuf.hasRemaining()) {
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
        if (inBuf == null) {
            return; // a frame dispatched above ended this connection, and the link released its buffer
        }
        if (!serving()) {
            inBuf.clear();
            return;
        }
        inBuf.compact();
        if (holdsFrames()) {
            return; // resumeDispatch feeds the rest
        }
        if (admission.waiting()) {
            link.registration().setRead(false);
            budgetWait.begin(link.who(), link.registration().fd());
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
        stalledInput.frameTimedOut(link.who(), link.registration().fd(), idleMillis, missing, unfinished);
        link.send(new Frame(Protocol.CONTROL_ID, MessageType.CORE_ERROR, new ErrorPayload(ErrorKind.MALFORMED_MESSAGE.wire(),
                missing + " of a frame begun came for " + idleMillis + " ms (the agent's --frame-timeout);"
                        + " the connection is closed", null)));
        link.beginDrop("dropped: " + unfinished + " got " + missing + " for " + idleMillis + " ms (--frame-timeout)");
    }

    /** Room in the budget: the held bytes first, then reading again (unless backpressure holds it). */
    private void onBudgetRoom() {
        if (!budgetWait.waiting() || !link.connected()) {
            return;
        }
        budgetWait.end();
        processInput();
        readAgainIfAllowed();
    }

    /** Nothing holds input back: not the budget, not a yielded slice, not a host that does not read. */
    private boolean mayRead() {
        return serving() && !budgetWait.waiting() && !holdsFrames() && !writer.inputPaused();
    }

    /** The host's not reading its answers is all that stops its input being read. */
    private boolean onlyBackpressureHoldsInput() {
        return serving() && !budgetWait.waiting() && yielded == null && !roomWait.holdsFrame()
                && writer.inputPaused();
    }

    /** Frames read wait undispatched: the slice ran out, the host's input is paused, or a frame waits for room. */
    private boolean holdsFrames() {
        return yielded != null || heldByPause || roomWait.holdsFrame();
    }

    /** The host's input pause ended ({@link LinkWriter}'s water marks): what it held goes on. */
    void backpressureEnded() {
        if (heldByPause) {
            // The frames left waiting go first (next turn, in a slice of their own), then reading.
            heldByPause = false;
            if (serving() && yielded == null) {
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

    /**
     * The queues are back within the budget, or the host has taken what was queued before the frame
     * that waits: it is dispatched next turn, then the rest.
     */
    private void onRoomBack() {
        if (serving() && roomWait.holdsFrame() && yielded == null) {
            yielded = loop.schedule(0, this::resumeDispatch);
        }
    }

    /** The slice ran out with frames left: the port is not read until they are dispatched, next turn. */
    private void yieldLoop() {
        link.registration().setRead(false);
        yielded = loop.schedule(0, this::resumeDispatch);
    }

    /** The next turn: the frames decoded first, then the bytes held, then reading again. */
    private void resumeDispatch() {
        yielded = null;
        if (!serving()) {
            return;
        }
        sliceStart = clock.getAsLong();
        dispatchDecoded();
        if (!holdsFrames() && serving()) {
            processInput();
        }
        if (writer.writesLost() != null && yielded == null && link.connected()) {
            // A host that shut only its reading side sends on, its answers dropped: no more.
            link.hangup(writer.writesLost() + "; the frames it had sent were handled, their answers dropped");
            return;
        }
        readAgainIfAllowed();
    }

    /** Reads the host again unless something still holds input back; its frame deadline starts over. */
    private void readAgainIfAllowed() {
        if (mayRead()) {
            link.registration().setRead(true);
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
        while (link.connected()) {
            if (!link.dropping() && writer.inputPaused()) {
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
                    link.registration().setRead(false);
                    roomWait.logHeld(link.who(), link.registration().fd());
                    return;
                }
            } catch (ProtocolException e) {
                try {
                    link.listener().onProtocolError(e);
                } catch (RuntimeException bug) {
                    // As for a frame below: thrown on to the loop, it left the read buffer mid-frame.
                    log.error("the refusal of a frame ({}) could not be handled; the link goes on with the next frame",
                            e.kind().wire(), bug);
                }
                if (e.kind().losesStream() && link.dropsHostOnLostStream()) {
                    link.beginDrop("dropped after a frame length it cannot trust");
                    break;
                }
                continue;
            }
            if (frame == null) {
                break;
            }
            try {
                link.listener().onFrame(frame);
            } catch (RuntimeException bug) {
                // A handler's bug: the frame is lost (logged), the link goes on in step with the next one.
                // Thrown on to the loop, it left the read buffer mid-frame and every later frame misread.
                log.error("frame id={} type={} could not be handled; the link goes on with the next frame",
                        frame.id(), frame.type().wire(), bug);
            }
            decoder.recycle(frame);
            if (serving() && clock.getAsLong() - sliceStart > DISPATCH_SLICE_NANOS) {
                yieldLoop();
                return;
            }
        }
    }

    /**
     * The host is being dropped: nothing it sent is dispatched or fed any more (what is held, or yet
     * to come, may be the inside of a refused frame), and its deadline stops. Frames waiting for the
     * next turn find the link dropping there.
     */
    void dropAll() {
        heldByPause = false; // the decoder is reset: nothing is held
        roomWait.forget();
        frameDeadline.stop();
        decoder.reset();
        forgetInput();
    }

    /** The host went away: as for a drop, and nothing waits for the next turn either. */
    void hostGone() {
        dropAll();
        if (yielded != null) {
            yielded.cancel();
            yielded = null;
        }
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
    long discardUnreadInput(int fd) {
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

    /** The read buffer goes back to its pool: the link will never be attached again. */
    void release() {
        DirectBufferPool.READS.give(inBuf);
        inBuf = null; // a later touch fails here, not in the next connection's buffer
    }
}
