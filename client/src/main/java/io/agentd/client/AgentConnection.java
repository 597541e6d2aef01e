package io.agentd.client;

import io.agentd.client.transport.StreamChannel;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.function.Function;
import java.util.function.LongFunction;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The parts of one connection, each made after the parts it uses, and what its sessions and fs
 * requests use of them: writes, ids, the agent's offers, the refusal to wait on the reader from
 * the reader itself, and the lines the agent can cause. {@link AgentClient} is its public face.
 */
final class AgentConnection {
    /** AgentClient's: users' log configurations name the client's lines by it. */
    private static final Logger log = LoggerFactory.getLogger(AgentClient.class);

    final String peer;
    final LiveIds ids = new LiveIds();
    private final AgentLines lines;
    private final HoldNotices holdNotices;
    /** The agent's core.ready (what it offers) and the other frames on id 0. */
    final ControlChannel control;
    final ConnectionEnd end;
    /** Reads and dispatches every frame; runs the OutputListeners. */
    private final FrameReader reader;
    private final FrameWriter writer;
    /** Opens ids for sessions, fs requests and calls; the calls answered by one frame. */
    final Calls calls;

    AgentConnection(StreamChannel channel, String peer, boolean peerChecksUid) {
        // Each part is made after the parts it uses. The hold notices write through this::send, so
        // through the writer made below: a notice is queued only for a session, and none exists
        // before this returns. The reader starts last, once everything a frame (and a listener run
        // for it) can reach is there.
        this.peer = peer;
        this.lines = new AgentLines(log, peer);
        this.holdNotices = new HoldNotices(peer, this::send);
        this.control = new ControlChannel(peer, ids, holdNotices, lines);
        this.end = new ConnectionEnd(channel, peer, ids, control, holdNotices, lines);
        this.reader = new FrameReader(channel, peer, peerChecksUid, ids, control, end, lines);
        this.writer = new FrameWriter(channel, peer, end, reader);
        this.calls = new Calls(peer, ids, writer, reader, control);
        reader.start();
    }

    /** {@link FrameReader#refuseWaitOnReader}: for whatever waits on this connection. */
    void refuseWaitOnReader(String what) {
        reader.refuseWaitOnReader(what);
    }

    /** Whether any byte at all came on the connection (for a connect that found no agent ready). */
    boolean anyByteCame() {
        return reader.anyByteCame();
    }

    /** Whether the agent's latest core.ready listed {@code feature} ({@link ControlChannel#offers}). */
    boolean offers(String feature) {
        return control.offers(feature);
    }

    /** False once the connection has ended, or a write to it has failed (nothing more can be sent). */
    boolean isOpen() {
        return !end.isClosed() && !writer.writesFailed();
    }

    /** {@link AgentClient#close}: every open session and call fails with {@link ConnectionLostException}. */
    void close() {
        end.end(new ConnectionLostException("the connection to " + peer + " was closed by this client", null));
    }

    /** Registers the receiver built for a fresh id and sends the frame built for it: the fs family's way in. */
    <R extends Receiver> R open(LongFunction<R> make, Function<R, Frame> first, long deadline) throws IOException {
        return calls.open(make, r -> r, r -> new Frame[] {first.apply(r)}, deadline);
    }

    /**
     * Frees {@code id} while {@code owns} says its receiver is still the caller's (a call nobody waits
     * for any longer): what the agent sends on it later is dropped as for any id that is not live.
     * Ids go up and wrap, so a freed id comes back only after every other id of the range (behind a
     * relay, 32 Mi of them): long after any late answer. Returns whether it freed it.
     */
    boolean retire(long id, Predicate<Receiver> owns) {
        return ids.retire(id, owns);
    }

    /** {@link #send(long, Frame...)} without a deadline. */
    void send(Frame... frames) throws IOException {
        writer.send(Timeouts.NO_DEADLINE, frames);
    }

    /** {@link FrameWriter#send}: the frames in one write by {@code deadline}. */
    void send(long deadline, Frame... frames) throws IOException {
        writer.send(deadline, frames);
    }

    /** {@link FrameWriter#sendData(long, MessageType, byte[], int, int, long)}: data frames by {@code deadline}. */
    void sendData(long id, MessageType type, byte[] data, int off, int len, long deadline) throws IOException {
        writer.sendData(id, type, data, off, len, deadline);
    }

    /** {@link FrameWriter#sendData(long, MessageType, ByteBuffer)}: one data frame without a copy. */
    void sendData(long id, MessageType type, ByteBuffer data) throws IOException {
        writer.sendData(id, type, data);
    }

    /** The hold notices for session {@code id} ({@link HoldNotices#forSession}). */
    OutputHold.Notices holdNotices(long id) {
        return holdNotices.forSession(id);
    }

    /**
     * Whether a line about a frame a session or an fs request did not expect may be written now
     * (the caller writes it); false counts it: the agent can send such frames in a loop.
     */
    boolean takeUnexpectedFrameLine() {
        return lines.unexpected.take();
    }
}
