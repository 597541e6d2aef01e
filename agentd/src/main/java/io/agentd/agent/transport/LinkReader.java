package io.agentd.agent.transport;

import io.agentd.agent.loop.Loop;
import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameDecoder;
import io.agentd.protocol.ProtocolException;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A link's input from its host: the fd read and fed to the {@link FrameDecoder} by its
 * {@link FrameFeed}, and the frames dispatched to the link's listener in slices of the loop's time
 * ({@link #DISPATCH_SLICE_NANOS}), in the order the host sent them. Input is held (the fd not read,
 * what was read kept undispatched, nothing overtaking it) while a large frame waits for room in the
 * budget ({@link BudgetWait}), while the frames of a slice that ran out wait for the next turn, while
 * the host does not read its answers (its queue's water marks, which {@link LinkWriter} keeps), and
 * while a frame whose answer may be large waits for room ({@link RoomWait}). A socket host that
 * leaves a frame unfinished is dropped ({@link PartialFrameDeadline}, which watches the feed). When
 * the host goes, and whether it is dropped, is {@link PortLink}'s to decide. The two call each
 * other: {@link #read} is the feed's read, and the feed calls back here for each frame it completes
 * ({@link #dispatchDecoded}) and to ask what holds input ({@link #mayRead}, {@link #holdsFrames}).
 * Loop thread only.
 */
final class LinkReader {
    private static final Logger log = LoggerFactory.getLogger(PortLink.class); // the links' lines

    /**
     * How long one readiness of the port may dispatch frames before the link yields the loop. Frames
     * can be slow (an exec.request made on the loop by a lone host spawns there), and a host that sends thousands at once would
     * otherwise hold the loop for seconds: every other host, timer and session waits. Past this
     * slice the rest waits for the next turn, after every other ready fd and due timer.
     */
    static final long DISPATCH_SLICE_NANOS = TimeUnit.MILLISECONDS.toNanos(2);

    private final PortLink link;
    private final Loop loop;
    private final LongSupplier clock;
    /** The host's bytes, read and fed to the decoder. */
    private final FrameFeed feed;
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
     * A frame's answer is being made off the loop (an exec.request's spawn: Connection): the frames
     * after it wait, with the bytes held, and so does the host's hang-up, until {@link #startAnswered}.
     */
    private boolean heldForStart;
    /** The host hung up while {@link #heldForStart}: its fd is edge-triggered until then, so the hang-up is reported once. */
    private boolean hangUpWaitsForStart;
    /** Inside {@link #dispatchDecoded}: a start answered there lets the dispatch go on by itself. */
    private boolean dispatching;

    /**
     * @param writer the same link's output: its water marks pause this input, and a frame waiting
     *     for room waits for the host to read it
     * @param frameTimeoutMillis see {@link PartialFrameDeadline}; 0 for never
     */
    LinkReader(PortLink link, LinkWriter writer, Loop loop, LargeFrameBudget largeFrames, long frameTimeoutMillis,
            StalledInputLog stalledInput, OutboundTotal outbound, LongSupplier clock) {
        this.link = link;
        this.loop = loop;
        this.clock = clock;
        this.roomWait = new RoomWait(writer, outbound, stalledInput, this::onRoomBack);
        this.feed = new FrameFeed(link, this, loop, largeFrames, frameTimeoutMillis, stalledInput, clock);
    }

    /** The host is there and not being dropped: what it sends is read and dispatched. */
    boolean serving() {
        return link.connected() && !link.dropping();
    }

    /** The fd is ready: this turn's dispatching begins now ({@link #DISPATCH_SLICE_NANOS}). */
    void startSlice() {
        sliceStart = clock.getAsLong();
    }

    /** Frames read wait for the next turn (the slice ran out); see {@link #hangUpWaits} for what waits with them. */
    boolean framesWaitForNextTurn() {
        return yielded != null;
    }

    /**
     * What waits for the next turn is dispatched now, in a fresh slice: the host is gone, and sends
     * nothing more ({@link LinkReadiness#hangUpIfGone}).
     */
    void dispatchWaitingNow() {
        yielded.cancel();
        resumeDispatch();
    }

    /** One read from the port, decoded and dispatched; true when bytes were read. */
    boolean read() {
        return feed.read();
    }

    /**
     * {@code why}, and what of the host's input the close drops, so that nothing is cut silently:
     * what the feed held ({@link FrameFeed#describeDropped}), and the frames held undispatched.
     */
    String withDroppedInput(String why) {
        StringBuilder text = new StringBuilder(why);
        feed.describeDropped(text);
        if (heldByPause) {
            text.append("; frames read while the host did not read its answers were dropped undispatched");
        }
        if (roomWait.holdsFrame()) {
            text.append("; a ").append(roomWait.heldType().wire())
                    .append(" waiting for the hosts' queues to drain was dropped undispatched");
        }
        return text.toString();
    }

    /** Nothing holds input back: not the budget, not a yielded slice, not a host that does not read. */
    boolean mayRead() {
        return serving() && !feed.waitsForBudget() && !holdsFrames() && !link.writer().inputPaused();
    }

    /** The host's not reading its answers is all that stops its input being read. */
    boolean onlyBackpressureHoldsInput() {
        return serving() && !feed.waitsForBudget() && yielded == null && !roomWait.holdsFrame() && !heldForStart
                && link.writer().inputPaused();
    }

    /**
     * Frames read wait undispatched: the slice ran out, the host's input is paused, a frame waits for
     * room, or a command is being started.
     */
    boolean holdsFrames() {
        return yielded != null || heldByPause || roomWait.holdsFrame() || heldForStart;
    }

    /** Frames wait for a later turn (the slice ran out, or a command is being started): a hang-up, or a failed write, waits with them. */
    boolean hangUpWaits() {
        return yielded != null || heldForStart;
    }

    /** A command of this host's is being started: see {@link #heldForStart}. */
    boolean waitsForStart() {
        return heldForStart;
    }

    /**
     * The frame being dispatched is answered off the loop: nothing after it is dispatched or read
     * until {@link #startAnswered}. Called from the listener's onFrame; an answer that comes before
     * onFrame returns (a request refused at once) leaves the dispatch going on as if never held.
     */
    void holdForStart() {
        heldForStart = true;
    }

    /**
     * The frame held for is answered: what waited is dispatched now, in a slice of its own, then the
     * host read again (a hang-up that came meanwhile is reported again then); inside the dispatch
     * that held (the answer came at once), the dispatch goes on by itself. Called from a task of the
     * loop (the spawn's outcome), never from inside another link's dispatch.
     */
    void startAnswered() {
        heldForStart = false;
        boolean hungUp = hangUpWaitsForStart;
        if (hungUp) {
            hangUpWaitsForStart = false;
            if (link.registration() != null) {
                link.registration().setEdgeTriggered(false);
            }
        }
        if (dispatching || !serving() || yielded != null) {
            return;
        }
        resumeDispatch(); // what waited, first
        if (!hungUp || !serving()) {
            return;
        }
        // The hang-up seen meanwhile is run now, as epoll would have run it (the rest of what the host
        // sent, then the hang-up): left to epoll's next report, a port's host that came back meanwhile
        // left none, and the hang-up was lost. Behind another start it waits for that one; behind a
        // slice that ran out, for epoll's report once the rest is dispatched.
        if (heldForStart) {
            hangUpWhileStarting();
        } else if (yielded == null) {
            LinkReadiness.onEvents(link, Loop.HANGUP);
        }
    }

    /**
     * The host hung up while a command of its is being started: the hang-up waits for that (the
     * frames it sent before it with it), and the fd, edge-triggered meanwhile, reports it once, not
     * in every turn of the wait (a spawn can take seconds on a hung file system).
     */
    void hangUpWhileStarting() {
        if (!hangUpWaitsForStart) {
            hangUpWaitsForStart = true;
            link.registration().setRead(false);
            link.registration().setEdgeTriggered(true);
        }
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
        if (roomWait.hostReadToMark() && !link.writer().inputPaused()) {
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
            feed.processInput();
        }
        LinkWriter writer = link.writer();
        if (writer.writesLost() != null && yielded == null && link.connected()) {
            // A host that shut only its reading side sends on, its answers dropped: no more.
            link.hangup(writer.writesLost() + "; the frames it had sent were handled, their answers dropped");
            return;
        }
        readAgainIfAllowed();
    }

    /** Reads the host again unless something still holds input back; its frame deadline starts over. */
    void readAgainIfAllowed() {
        if (mayRead()) {
            link.registration().setRead(true);
            feed.readingAgain();
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
    void dispatchDecoded() {
        if (heldForStart) {
            return;
        }
        boolean outer = dispatching;
        dispatching = true;
        try {
            dispatchUntilHeld();
        } finally {
            dispatching = outer;
        }
    }

    private void dispatchUntilHeld() {
        while (link.connected()) {
            if (!link.dropping() && link.writer().inputPaused()) {
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
                frame = feed.decoder().next();
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
            feed.decoder().recycle(frame);
            if (heldForStart) {
                // Nothing may overtake the frame: what the host sends meanwhile is not read (read
                // interest goes off at the first readiness, LinkReadiness; a host that waits for the
                // answer sends nothing, and its fd costs no epoll_ctl either way).
                return;
            }
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
        feed.dropAll();
    }

    /** The host went away: as for a drop, and nothing waits for the next turn either. */
    void hostGone() {
        dropAll();
        hangUpWaitsForStart = false; // its registration is gone; a start in flight still holds what comes next
        if (yielded != null) {
            yielded.cancel();
            yielded = null;
        }
    }

    /** See {@link FrameFeed#discardUnreadInput}. */
    long discardUnreadInput(int fd) {
        return feed.discardUnreadInput(fd);
    }

    /** The read buffer goes back to its pool: the link will never be attached again. */
    void release() {
        feed.release();
    }
}
