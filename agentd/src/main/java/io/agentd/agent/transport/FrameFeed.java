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
import io.agentd.protocol.payload.ErrorPayload;
import java.nio.ByteBuffer;
import java.util.function.LongSupplier;

/**
 * A link's bytes from its host on their way to frames: read from the fd into one buffer, and fed to
 * the {@link FrameDecoder} as far as {@link FrameAdmission} admits them; its {@link LinkReader}
 * dispatches what they complete. A large frame the budget has no room for stops the reading until
 * there is some ({@link BudgetWait}), the bytes after it held. It is the subject of the link's
 * {@link PartialFrameDeadline}, since it holds the frame a socket host may leave unfinished, and
 * drops that host when the deadline passes. Loop thread only.
 */
final class FrameFeed implements PartialFrameDeadline.Subject {
    /** The most a hang-up reads away of what the gone host left unread: a port's kernel buffer holds far less. */
    private static final long MAX_UNREAD_DISCARD = 64L << 20;

    private final PortLink link;
    private final LinkReader reader;
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

    /** @param frameTimeoutMillis see {@link PartialFrameDeadline}; 0 for never */
    FrameFeed(PortLink link, LinkReader reader, Loop loop, LargeFrameBudget largeFrames, long frameTimeoutMillis,
            StalledInputLog stalledInput, LongSupplier clock) {
        this.link = link;
        this.reader = reader;
        this.stalledInput = stalledInput;
        this.admission = new FrameAdmission(largeFrames);
        this.budgetWait = new BudgetWait(loop, largeFrames, clock, stalledInput, this::onBudgetRoom);
        this.frameDeadline = new PartialFrameDeadline(loop, frameTimeoutMillis, this, clock);
    }

    /** The decoder of the bytes fed so far; replaced at a boundary, so asked for each time. */
    FrameDecoder decoder() {
        return decoder;
    }

    /** Waiting for room in the large-frame budget: the fd is not read meanwhile. */
    boolean waitsForBudget() {
        return budgetWait.waiting();
    }

    /** One read from the port, decoded and dispatched; true when bytes were read. */
    boolean read() {
        if (budgetWait.waiting() || reader.holdsFrames() || !inBuf.hasRemaining()) {
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
            link.hangup(reader.withDroppedInput("end of input"));
            return false;
        }
        processInput();
        if (reader.serving()) {
            frameDeadline.progressed();
        }
        return true;
    }

    /** The link reads its host again: the host's time on a frame it began starts over. */
    void readingAgain() {
        frameDeadline.progressed();
    }

    /**
     * What the close drops of the bytes fed or held, appended to {@code text}: the part of a frame
     * the host never finished, and bytes read but not yet decoded (a large frame waiting for the
     * budget). Called between reads, where inBuf's position counts the bytes held.
     */
    void describeDropped(StringBuilder text) {
        String unfinished = decoder.unfinishedFrame();
        if (unfinished != null) {
            text.append("; ").append(unfinished).append(" was dropped");
        }
        if (inBuf.position() > 0) {
            text.append("; ").append(inBuf.position()).append(" bytes read and not yet decoded were dropped");
        }
    }

    /** Between frames, the decoder's large arrays go, and their share of the budget with them. */
    private boolean releaseRetainedAtBoundary() {
        if (reader.serving() && admission.atBoundary() && admission.retained() > 0) {
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
    void processInput() {
        inBuf.flip();
        while (reader.serving() && inBuf.hasRemaining()) {
            int n = admission.admissible(inBuf);
            if (n > 0) {
                int limit = inBuf.limit();
                inBuf.limit(inBuf.position() + n);
                decoder.feed(inBuf);
                inBuf.limit(limit);
                reader.dispatchDecoded();
                if (reader.holdsFrames()) {
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
        if (!reader.holdsFrames()) {
            releaseRetainedAtBoundary();
        }
        if (inBuf == null) {
            return; // a frame dispatched above ended this connection, and the link released its buffer
        }
        if (!reader.serving()) {
            inBuf.clear();
            return;
        }
        inBuf.compact();
        if (reader.holdsFrames()) {
            return; // resumeDispatch feeds the rest
        }
        if (admission.waiting()) {
            link.registration().setRead(false);
            budgetWait.begin(link.who(), link.registration().fd());
        }
    }

    /** Room in the budget: the held bytes first, then reading again (unless backpressure holds it). */
    private void onBudgetRoom() {
        if (!budgetWait.waiting() || !link.connected()) {
            return;
        }
        budgetWait.end();
        processInput();
        reader.readAgainIfAllowed();
    }

    @Override
    public boolean holdsPartialFrame() {
        // Between reads inBuf is in write mode: its position counts the bytes held.
        return reader.serving() && (decoder.midFrame() || inBuf.position() > 0);
    }

    @Override
    public boolean reading() {
        // A host that reads none of its answers stops its own input, and while a large frame it
        // began holds a share of the budget other hosts' frames wait for, that time is its own:
        // else it could hold the share for ever. Otherwise the agent's own reasons (the budget,
        // a yielded slice) and backpressure stop the clock.
        // Nor is time epoll refuses the link's fd back (the loop retries it): nothing is read then.
        return (reader.mayRead() && !link.registration().awaitingWatch())
                || (admission.midLargeFrame() && reader.onlyBackpressureHoldsInput());
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

    /**
     * The host began a frame and sent no byte of it for --frame-timeout: it is told on id 0 and
     * dropped like a host whose stream was lost, which gives back its large-frame reservation at once
     * and its connection place once the core.error had its chance to go out.
     */
    @Override
    public void expired(long idleMillis) {
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

    /**
     * The host is being dropped, or gone: nothing held is ever fed (what is held, or yet to come, may
     * be the inside of a refused frame), its deadline stops, the reservations go back, and this link
     * waits for the budget no more.
     */
    void dropAll() {
        frameDeadline.stop();
        decoder.reset();
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
