package io.agentd.agent.transport;

import io.agentd.agent.LogText;
import io.agentd.agent.loop.Loop;
import io.agentd.agent.loop.Loop.Registration;
import io.agentd.agent.loop.OutboundQueue;
import io.agentd.agent.sys.OsException;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import java.nio.ByteBuffer;
import java.util.function.IntConsumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A link's output to its host: one bounded {@link OutboundQueue}, written at the end of the loop's
 * turn that queued to it, or when the fd turns writable again. It keeps this link's share of what
 * every link queues ({@link OutboundTotal}), acts on the queue's water marks ({@link QueueWaterMarks}:
 * session output stops at the high-water mark; a host that sends without reading has its input
 * paused), and feeds {@link StallWatch}, which warns about a host that takes no output while some
 * waits for it. A frame the encoder refuses goes through {@link UnencodableFrames}, and one sent
 * after the link's release is dropped. What the host's going away means for the link (the hang-up,
 * the drop) is {@link PortLink}'s to decide. Loop thread only.
 */
final class LinkWriter {
    private static final Logger log = LoggerFactory.getLogger(PortLink.class); // the links' lines

    private final PortLink link;
    private final Loop loop;
    private final OutboundQueue queue = new OutboundQueue();
    private final UnencodableFrames unencodable;
    private final QueueWaterMarks waterMarks;
    /** What every link of the agent queues together ({@link OutboundTotal}). */
    private final OutboundTotal outbound;
    /** This link's queued bytes as last counted in {@link #outbound}. */
    private long counted;
    private final StallWatch stallWatch;
    private final HostEventLog hostEvents;
    /**
     * Why a write to the host failed (EPIPE: it closed) while frames it sent still waited for the
     * next turn, or null: they are dispatched all the same (a detachable session started, a
     * shutdown done), their answers dropped, and the hang-up follows them.
     */
    private String writesLost;
    /**
     * A write is due at the end of this turn of the loop: frames queued by the turn's events go out
     * in one write without asking epoll first (write interest is armed only when the fd is full).
     */
    private Loop.Timer flushAtTurnEnd;
    private final Runnable flushTask = this::flushAtTurnEnd;
    /** {@link #release} gave the queue's segments back: the link may not be attached again, nor send. */
    private boolean released;

    LinkWriter(PortLink link, Loop loop, long highWater, long stallWarnMillis, OutboundTotal outbound,
            LongSupplier clock, HostEventLog hostEvents) {
        this.link = link;
        this.loop = loop;
        this.unencodable = new UnencodableFrames(loop);
        this.outbound = outbound;
        this.waterMarks = new QueueWaterMarks(highWater);
        this.hostEvents = hostEvents;
        this.stallWatch = new StallWatch(loop, stallWarnMillis, new StallWatch.Subject() {
            @Override
            public boolean outputWaits() {
                return link.connected() && !queue.isEmpty();
            }

            @Override
            public long queuedBytes() {
                return queue.queuedBytes();
            }

            @Override
            public boolean outputAllowed() {
                return waterMarks.outputAllowed();
            }

            @Override
            public String who() {
                return link.who();
            }
        }, clock, hostEvents);
    }

    /** See {@link PortLink#send}. */
    void send(Frame frame) {
        if (droppedAfterRelease(frame.id(), frame.type())) {
            return;
        }
        try {
            queue.add(frame);
        } catch (IllegalArgumentException refused) {
            Frame replacement = unencodable.refused(frame, refused);
            if (replacement == null) {
                return;
            }
            try {
                queue.add(replacement);
            } catch (IllegalArgumentException e) {
                log.error("the replacement {} for id {} cannot be encoded either: {}", replacement.type(),
                        frame.id(), LogText.message(e.getMessage()));
                return;
            }
        }
        afterEnqueue();
    }

    /** See {@link PortLink#greet}. */
    void sendFirst(Frame frame) {
        if (droppedAfterRelease(frame.id(), frame.type())) {
            return;
        }
        queue.addFirst(frame);
        afterEnqueue();
    }

    /** See {@link OutboundQueue#addSplicedData}. */
    void sendSplicedData(long id, MessageType type, int pipeFd, int length, IntConsumer onReleased) {
        if (droppedAfterRelease(id, type)) {
            onReleased.accept(length); // the bytes stay in the pipe, the caller's again
            return;
        }
        queue.addSplicedData(id, type, pipeFd, length, onReleased);
        afterEnqueue();
    }

    /** Queues a data frame of the bytes between {@code data}'s position and limit (copied). */
    void sendData(long id, MessageType type, ByteBuffer data) {
        if (droppedAfterRelease(id, type)) {
            return;
        }
        queue.addData(id, type, data);
        afterEnqueue();
    }

    /** See {@link OutboundQueue#takeOutOfPipe}. */
    void takeOutOfPipe(int pipeFd) {
        queue.takeOutOfPipe(pipeFd);
    }

    boolean acceptsSplicedData() {
        return queue.acceptsSplicedData();
    }

    /** Whether the fd the link is attached to may be spliced into ({@link PortLink.Splicing}). */
    void allowSplicedData(boolean allowed) {
        queue.allowSplicedData(allowed);
    }

    /** False while the queue is above the high-water mark: do not read more session output. */
    boolean acceptsOutput() {
        return waterMarks.outputAllowed();
    }

    /** The host does not read its answers: its input is paused until the queue is back under the mark. */
    boolean inputPaused() {
        return waterMarks.inputPaused();
    }

    boolean isEmpty() {
        return queue.isEmpty();
    }

    long queuedBytes() {
        return queue.queuedBytes();
    }

    /** What has left the queue so far, all of it together (see {@link OutboundQueue#dequeuedBytes}). */
    long dequeuedBytes() {
        return queue.dequeuedBytes();
    }

    /** See {@link #writesLost}; null while the host's writes do not fail. */
    String writesLost() {
        return writesLost;
    }

    /** Drops the frames queued for a host that is gone (a new host must not see them). */
    void discard() {
        queue.clear();
        afterDequeue();
    }

    /** True (and the frame is dropped) once the link is released: nobody will ever read it. */
    private boolean droppedAfterRelease(long id, MessageType type) {
        if (released) {
            log.debug("{} for id {} after its connection was over: dropped", type, id);
        }
        return released;
    }

    /** The link was released ({@link PortLink#release}): it is attached no more, and what is sent is dropped. */
    boolean released() {
        return released;
    }

    /**
     * The link will never be attached again: the queue's segments go back, nothing counts any more,
     * and frames sent after this are dropped.
     */
    void release() {
        released = true;
        queue.clear();
        count();
        queue.allowSplicedData(false);
    }

    /** Brings this link's share of {@link #outbound} up to date; returns its queued bytes. */
    private long count() {
        long q = queue.queuedBytes();
        outbound.add(q - counted);
        counted = q;
        return q;
    }

    private void afterEnqueue() {
        long q = count();
        waterMarks.grew(q);
        if (link.connected()) {
            Registration reg = link.registration();
            if (waterMarks.inputShouldPause(q, outbound.over())) {
                reg.setRead(false);
                hostEvents.inputPaused(link.who(), q);
            }
            if (!reg.writing() && flushAtTurnEnd == null) {
                flushAtTurnEnd = loop.schedule(0, flushTask);
            }
            stallWatch.outputWaiting();
        }
    }

    private void flushAtTurnEnd() {
        flushAtTurnEnd = null;
        if (link.connected() && !link.registration().writing()) {
            flush();
        }
    }

    private void afterDequeue() {
        long q = count();
        if (waterMarks.inputShouldResume(q)) {
            link.reader().backpressureEnded();
            hostEvents.inputResumed(link.who());
        }
        if (waterMarks.outputShouldResume(q)) {
            link.listener().onOutputResumed();
        }
        link.reader().hostTookOutput();
        if (q == 0) {
            stallWatch.drained();
            link.listener().onFlushed();
        }
    }

    /** The host is there: write interest follows the queue, and what waits in it is watched. */
    void hostConnected() {
        link.registration().setWrite(!queue.isEmpty());
        if (!queue.isEmpty()) {
            stallWatch.outputWaiting();
        }
    }

    /** Writes now what the end of the turn would have written (the greeting written first on a port: {@link LinkReadiness#onEvents}). */
    void flushNow() {
        if (flushAtTurnEnd != null) {
            flushAtTurnEnd.cancel();
            flushAtTurnEnd = null;
        }
        flush();
    }

    /** Writes what the fd takes of the queue; write interest stays armed while some is left. */
    void flush() {
        if (writesLost != null) {
            dropWhatCannotBeWritten();
            return;
        }
        Registration reg = link.registration();
        boolean empty;
        long before = queue.queuedBytes();
        try {
            empty = queue.writeTo(reg.fd());
        } catch (OsException e) {
            if (link.reader().hangUpWaits()) {
                // The host closed after sending more than one slice of frames (or frames behind a
                // command being started): the end-of-turn write came before the rest. Hanging up here
                // dropped them unhandled. The hang-up follows them (LinkReader.resumeDispatch),
                // whether or not the host's input ends.
                writesLost = e.getMessage();
                dropWhatCannotBeWritten();
                return;
            }
            link.hangup(e.getMessage());
            return;
        }
        if (queue.queuedBytes() < before) {
            stallWatch.progressed();
        }
        if (!link.connected()) {
            return; // a write that failed hung up
        }
        reg.setWrite(!empty);
        afterDequeue();
        if (empty) {
            link.finishDrop("what was queued was written");
        }
    }

    /** See {@link #writesLost}: what is queued goes, and nothing waits to be written. */
    private void dropWhatCannotBeWritten() {
        queue.clear();
        link.registration().setWrite(false);
        afterDequeue();
        link.finishDrop(writesLost);
    }

    /**
     * What was written of the frame the hang-up cut went to the host that left; a port's returning
     * host must start at a whole frame (what QEMU had not passed on of the guest's writes, it drops).
     * Returns the bytes of it dropped.
     */
    long dropPartlyWrittenFrame() {
        long cut = queue.dropPartlyWrittenFrame();
        count();
        return cut;
    }

    /** The host went away: its pause, its stall watch, its lost writes and the write due end with it. */
    void hostGone() {
        stallWatch.stop();
        waterMarks.hostGone();
        writesLost = null;
        if (flushAtTurnEnd != null) {
            flushAtTurnEnd.cancel();
            flushAtTurnEnd = null;
        }
    }
}
