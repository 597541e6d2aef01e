package io.agentd.client;

import io.agentd.client.relay.IdRange;
import io.agentd.client.relay.RelayGreeting;
import io.agentd.client.transport.StreamChannel;
import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameDecoder;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.ProtocolException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connection's one reader thread: reads every frame and hands it to the receiver of its id (id
 * 0's to the {@link ControlChannel}), takes a relay's greeting from the first 8 bytes, and ends the
 * connection when the stream ends or breaks. {@link OutputListener}s run on it.
 */
final class FrameReader {
    /** AgentClient's: users' log configurations name the client's lines by it. */
    private static final Logger log = LoggerFactory.getLogger(AgentClient.class);
    private static final int READ_BUFFER_BYTES = 256 * 1024;
    /** How long after a failed write the reader has to take what the agent sent before the connection is ended. */
    static final Duration WRITE_FAILURE_GRACE = Duration.ofSeconds(5);

    private final StreamChannel channel;
    private final String peer;
    /** A unix socket, whose agent turns away a uid it does not serve by closing at once (vsock has no uids). */
    private final boolean peerChecksUid;
    private final LiveIds ids;
    private final ControlChannel control;
    private final ConnectionEnd end;
    private final AgentLines lines;
    private final Thread thread;
    /** Some byte came on the connection (a relay's greeting, the agent's first frame): said when ready is late. */
    private volatile boolean anyByteCame;
    /** The reader is handing a frame to its session (a listener may hold it there): see {@link #endIfItStopsAfter}. */
    private volatile boolean dispatching;
    /** Frames the reader has handed over so far: see {@link #endIfItStopsAfter}. */
    private volatile long framesDispatched;

    FrameReader(StreamChannel channel, String peer, boolean peerChecksUid, LiveIds ids, ControlChannel control,
            ConnectionEnd end, AgentLines lines) {
        this.channel = channel;
        this.peer = peer;
        this.peerChecksUid = peerChecksUid;
        this.ids = ids;
        this.control = control;
        this.end = end;
        this.lines = lines;
        this.thread = new Thread(this::readLoop, "agentd-client-reader " + peer);
        thread.setDaemon(true);
    }

    /** Starts the thread, once everything a frame may reach is there. */
    void start() {
        thread.start();
    }

    /** Whether any byte came on the connection yet. */
    boolean anyByteCame() {
        return anyByteCame;
    }

    /**
     * Refuses a wait on this connection's reader thread (an {@link OutputListener} calling back into
     * the client): whatever it waits for (a reply, an exit, stdin credit) only that thread could
     * deliver, so it would wait out its timeout, or forever, with every session of the connection.
     */
    void refuseWaitOnReader(String what) {
        if (Thread.currentThread() == thread) {
            throw new IllegalStateException("cannot wait for " + what + " on the connection's reader thread (in an"
                    + " OutputListener): only that thread could deliver it; wait on another thread");
        }
    }

    /**
     * A write failed ({@code failure}): the agent closed the connection or is gone, and what it sent
     * before is still to be read, so the reader ends the connection once it reads the end. A thread of
     * its own ends it if the reader, {@link #WRITE_FAILURE_GRACE} after the failure or after its last
     * frame, waits for the socket with nothing handed over meanwhile (a peer that shut only its
     * reading half sends no end); a reader that is delivering (a listener writing to a slow pipe)
     * goes on.
     */
    void endIfItStopsAfter(ConnectionLostException failure) {
        Thread ender = new Thread(() -> {
            long seen = -1;
            try {
                while (!end.awaitClosed(WRITE_FAILURE_GRACE.toNanos())) {
                    long now = framesDispatched;
                    if (!dispatching && now == seen) {
                        end.end(failure);
                        return;
                    }
                    seen = now;
                }
                // the reader ended it
            } catch (InterruptedException e) {
                end.end(failure); // not expected: nobody interrupts this thread
            }
        }, "agentd-client-end");
        ender.setDaemon(true);
        ender.start();
    }

    private void readLoop() {
        ConnectionLostException why;
        try {
            FrameDecoder decoder = new FrameDecoder();
            // Direct: a heap buffer makes the channel read into a temporary direct buffer and copy.
            ByteBuffer buffer = ByteBuffer.allocateDirect(READ_BUFFER_BYTES);
            byte[] first = new byte[RelayGreeting.BYTES];
            int firstFill = 0;
            while (true) {
                buffer.clear();
                if (channel.read(buffer) < 0) {
                    String unfinished = decoder.unfinishedFrame();
                    // Closed before any byte: the way an agent turns away a uid it does not serve.
                    String hint = firstFill > 0 ? "" : peerChecksUid
                            ? " before it said it was ready (does it serve your uid? its log says why; see agentd --allow-uid)"
                            : " before it said it was ready (its log says why)";
                    why = new ConnectionLostException(end.otherEnd() + " closed the connection" + hint
                            + (unfinished == null ? "" : "; " + unfinished + " was dropped"), null);
                    break;
                }
                buffer.flip();
                if (firstFill == 0 && buffer.hasRemaining()) {
                    anyByteCame = true;
                }
                if (firstFill < first.length) {
                    int n = Math.min(first.length - firstFill, buffer.remaining());
                    buffer.get(first, firstFill, n);
                    firstFill += n;
                    if (firstFill < first.length) {
                        continue;
                    }
                    if (!adoptRelayGreeting(first)) {
                        decoder.feed(ByteBuffer.wrap(first));
                    }
                }
                decoder.feed(buffer);
                why = dispatchAll(decoder);
                if (why != null) {
                    break;
                }
                lines.reportIfDue();
            }
        } catch (AsynchronousCloseException e) {
            why = new ConnectionLostException("the connection to " + peer + " was closed by this client", null);
        } catch (IOException e) {
            why = new ConnectionLostException("the connection to " + peer + " broke: " + e.getMessage(), e);
        } catch (RuntimeException | Error e) {
            // An Error too (an OutputListener's AssertionError, a StackOverflowError): a reader gone
            // without ending the connection would leave every caller waiting for ever.
            log.error("reader of {} failed; closing the connection", peer, e);
            end.end(new ConnectionLostException("client error reading from " + peer + ": " + e, e));
            if (e instanceof Error error) {
                throw error;
            }
            return;
        }
        end.end(why);
    }

    /**
     * Whether a connection's first 8 bytes are a relay's greeting; if so, every id from now on comes
     * from its range (a ping sent before they came, on an id outside it, is refused by the relay).
     */
    private boolean adoptRelayGreeting(byte[] first) {
        IdRange range = RelayGreeting.parse(first);
        if (range == null) {
            return false;
        }
        ids.useRelayRange(range);
        log.debug("{} is a relay; this client's ids are {}", peer, range);
        return true;
    }

    /** Dispatches every whole frame the decoder holds; returns why to give up, or null to read on. */
    private ConnectionLostException dispatchAll(FrameDecoder decoder) {
        while (true) {
            Frame frame;
            try {
                frame = decoder.next();
            } catch (ProtocolException e) {
                if (e.kind().losesStream()) {
                    return new ConnectionLostException("the agent at " + peer
                            + " sent a frame with an unusable length (" + e.getMessage() + ")", e);
                }
                abortUndecodable(e);
                continue;
            }
            if (frame == null) {
                return null;
            }
            dispatching = true;
            try {
                dispatch(frame, decoder);
            } finally {
                dispatching = false;
                framesDispatched++; // the reader's own field: one writer
            }
        }
    }

    /** A frame of a live id that cannot be decoded may have been its terminal frame: end the id. */
    private void abortUndecodable(ProtocolException e) {
        if (lines.undecodable.take()) {
            log.warn("undecodable frame from the agent at {} (id {}, type {}): {}: {}", peer,
                    e.hasId() ? e.id() : "?", AgentLineLimit.quote(e.type()), e.kind(),
                    AgentLineLimit.message(e.getMessage()));
        }
        if (e.hasId() && e.id() != Protocol.CONTROL_ID) {
            Receiver receiver = ids.remove(e.id());
            if (receiver != null) {
                receiver.onAbort(new AgentException("the agent sent an undecodable " + e.type()
                        + " on id " + e.id() + ": " + e.kind() + ": " + e.getMessage(), e));
            }
        }
    }

    private void dispatch(Frame frame, FrameDecoder decoder) {
        if (frame.id() == Protocol.CONTROL_ID) {
            control.onFrame(frame);
            return;
        }
        Receiver receiver = ids.get(frame.id());
        if (receiver == null) {
            log.debug("{} for id {}, which has no open session or call: dropped", frame.type(), frame.id());
            return;
        }
        if (receiver.onFrame(frame)) {
            ids.remove(frame.id(), receiver);
        }
        if (receiver.releasesData()) {
            decoder.recycle(frame); // the next data frame of its size is read into the same array
        }
    }
}
