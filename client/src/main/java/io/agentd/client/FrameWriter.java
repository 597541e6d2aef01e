package io.agentd.client;

import io.agentd.client.transport.StreamChannel;
import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * Writes frames to the connection, one writer at a time so that frames never interleave, each call
 * within its deadline (a {@link System#nanoTime}): when the agent took nothing by then,
 * {@link AgentTimeoutException} and the connection goes on; a frame begun is finished, or the
 * connection ends. After a failed write (the agent closed) nothing more is written, and the reader
 * is left to take what the agent sent before.
 */
final class FrameWriter {
    /**
     * Data (a session's stdin, an upload's fs.data) is cut into frames of at most this much, so one
     * big write does not hold up other sessions and requests on the connection.
     */
    static final int DATA_CHUNK_BYTES = 64 * 1024;
    /** How long past a call's deadline the rest of a frame already begun may wait for the agent to take more. */
    private static final Duration CUT_FRAME_GRACE = Duration.ofSeconds(2);

    private final StreamChannel channel;
    private final String peer;
    private final ConnectionEnd end;
    /** Ends the connection after a failed write, once it has read what the agent sent before. */
    private final FrameReader reader;
    /**
     * One writer at a time, so that frames never interleave. A lock that can be waited for with a
     * time limit: a call with a timeout (ping, an fs request) must not wait for ever behind a writer
     * held up by an agent that stopped reading.
     */
    private final ReentrantLock writeLock = new ReentrantLock();
    private final FrameEncoder encoder = new FrameEncoder(); // guarded by writeLock
    // Direct: the channel writes a heap buffer through a temporary direct copy.
    private final ByteBuffer dataFrame =
            ByteBuffer.allocateDirect(FrameEncoder.maxDataFrameSize(DATA_CHUNK_BYTES)); // guarded by writeLock
    /** A data frame's header, written with its data by one gathering write (no copy of the data). */
    private final ByteBuffer dataHeader =
            ByteBuffer.allocateDirect(FrameEncoder.maxDataFrameSize(0)); // guarded by writeLock
    private final ByteBuffer[] headerAndData = new ByteBuffer[2]; // guarded by writeLock
    private final ByteBuffer[] oneBuffer = new ByteBuffer[1]; // guarded by writeLock
    /**
     * Why a write failed (the agent closed or went away), once one has: no write is tried after it,
     * but the connection stays open for the reader, since the frames the agent sent before it closed
     * (an exited, the output before it) are still in the socket; the reader ends the connection at
     * their end, or {@link FrameReader#WRITE_FAILURE_GRACE} later at the latest. Set under writeLock.
     */
    private volatile ConnectionLostException writesLost;

    FrameWriter(StreamChannel channel, String peer, ConnectionEnd end, FrameReader reader) {
        this.channel = channel;
        this.peer = peer;
        this.end = end;
        this.reader = reader;
    }

    /** True once a write has failed: nothing more can be sent. */
    boolean writesFailed() {
        return writesLost != null;
    }

    /**
     * Sends the frames in one write, waiting for the write lock and for the agent to take the bytes
     * until {@code deadline} (a {@link System#nanoTime}). When the agent took nothing of them by then
     * (another writer held the lock all along, or the socket was full), {@link AgentTimeoutException}:
     * nothing was sent and the connection goes on. When it took part of them, the connection ends
     * ({@link ConnectionLostException}): the rest of a frame cut in the middle can never follow, and
     * any other frame after it would be read as its rest.
     */
    void send(long deadline, Frame... frames) throws IOException {
        sendBuiltInTurn(deadline, () -> frames);
    }

    /**
     * {@link #send(long, Frame...)} of the frames {@code build} makes once the connection is this
     * call's: a time read in it is the time of the write, not of the wait for another writer.
     */
    void sendBuiltInTurn(long deadline, Supplier<Frame[]> build) throws IOException {
        lockWrites(deadline);
        try {
            Frame[] frames = build.get();
            ByteBuffer[] encoded = new ByteBuffer[frames.length];
            for (int i = 0; i < frames.length; i++) {
                encoded[i] = ByteBuffer.wrap(encoder.encode(frames[i]));
            }
            writeFully(encoded, deadline);
        } finally {
            writeLock.unlock();
        }
    }

    /**
     * Sends data frames (stdin, fs.data) for {@code data[off, off+len)}, cut into chunks, without copying it,
     * by {@code deadline}, each chunk as {@link #send(long, Frame...)}: a timeout before a chunk went
     * out leaves the chunks before it sent, whole.
     */
    void sendData(long id, MessageType type, byte[] data, int off, int len, long deadline) throws IOException {
        int end = off + len;
        for (int at = off; at < end; at += DATA_CHUNK_BYTES) {
            int n = Math.min(DATA_CHUNK_BYTES, end - at);
            lockWrites(deadline);
            try {
                dataFrame.clear();
                encoder.encodeDataInto(id, type, data, at, n, dataFrame);
                dataFrame.flip();
                oneBuffer[0] = dataFrame;
                writeFully(oneBuffer, deadline);
            } finally {
                writeLock.unlock();
            }
        }
    }

    /**
     * Sends the bytes between {@code data}'s position and limit as one data frame, header and data
     * in one gathering write, without copying them (a direct buffer reaches the socket as it is);
     * the position moves to the limit. At most {@link #DATA_CHUNK_BYTES}.
     */
    void sendData(long id, MessageType type, ByteBuffer data) throws IOException {
        if (data.remaining() > DATA_CHUNK_BYTES) {
            throw new IllegalArgumentException("data frame of " + data.remaining() + " bytes, above " + DATA_CHUNK_BYTES);
        }
        lockWrites(Timeouts.NO_DEADLINE);
        try {
            dataHeader.clear();
            encoder.encodeDataHeaderInto(id, type, data.remaining(), dataHeader);
            dataHeader.flip();
            headerAndData[0] = dataHeader;
            headerAndData[1] = data;
            writeFully(headerAndData, Timeouts.NO_DEADLINE);
        } finally {
            headerAndData[1] = null;
            writeLock.unlock();
        }
    }

    /**
     * Takes the write lock, waiting at most until {@code deadline}. An interrupt ends a wait with a
     * deadline ({@link InterruptedIOException}, the flag left set; nothing was sent), as it ends a
     * call's other waits; one without a deadline goes on, as a write in progress does.
     */
    private void lockWrites(long deadline) throws AgentTimeoutException, InterruptedIOException {
        if (deadline == Timeouts.NO_DEADLINE) {
            writeLock.lock();
            return;
        }
        try {
            if (writeLock.tryLock(Timeouts.left(deadline), TimeUnit.NANOSECONDS)) {
                return;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting to send to the agent at " + peer
                    + "; nothing was sent");
        }
        throw AgentTimeoutException.notSent("nothing was sent to the agent at " + peer + " in the call's time:"
                + " another write held the connection all along, waiting for the agent to read");
    }

    /**
     * Writes every byte of {@code bytes} (under the write lock), as {@link #send(long, Frame...)}
     * says. Once a byte is out the rest has until the deadline or {@link #CUT_FRAME_GRACE} after the
     * agent last took some, whichever is later: an agent that reads is never cut off because the
     * call's time ran out in the middle of its frame.
     */
    private void writeFully(ByteBuffer[] bytes, long deadline) throws IOException {
        checkNotLost();
        long written = 0;
        long until = deadline;
        while (bytes[bytes.length - 1].hasRemaining()) {
            long n;
            try {
                n = channel.writeBefore(bytes, until);
            } catch (IOException e) {
                throw writesEnded(new ConnectionLostException(
                        "connection to " + end.otherEnd() + " broke while writing: " + e.getMessage(), e));
            }
            if (n == 0) {
                if (written == 0) {
                    throw AgentTimeoutException.notSent("nothing was sent to the agent at " + peer + " in the call's"
                            + " time: it read nothing (the connection's buffers stayed full)");
                }
                throw end.endFromWriter(new ConnectionLostException("the agent at " + peer + " stopped reading in the"
                        + " middle of a frame (" + written + " bytes of it sent) and took nothing more within the"
                        + " call's time and " + Timeouts.text(CUT_FRAME_GRACE) + " after: the connection is closed,"
                        + " since nothing can follow a cut frame", null));
            }
            written += n;
            if (deadline != Timeouts.NO_DEADLINE) {
                until = Math.max(deadline, System.nanoTime() + CUT_FRAME_GRACE.toNanos());
            }
        }
    }

    private void checkNotLost() throws ConnectionLostException {
        end.checkNotEnded();
        ConnectionLostException failedWrite = writesLost;
        if (failedWrite != null) {
            throw new ConnectionLostException(failedWrite.getMessage(), failedWrite);
        }
    }

    /**
     * A write failed: the agent closed the connection or is gone. Unlike a cut frame (an agent that
     * lives but stopped reading), what it sent before is still to be read: ending the connection at
     * once closed the channel under the reader, and sessions whose exited had already come (a
     * core.shutdown, the VM going down) failed ConnectionLostException without their last output.
     * Writes stop here; the reader ends the connection ({@link FrameReader#endIfItStopsAfter}).
     */
    private ConnectionLostException writesEnded(ConnectionLostException failure) {
        // Under the write lock: one writer at a time sets writesLost.
        ConnectionLostException ended = end.cause();
        if (ended != null) {
            return ended == failure ? failure : new ConnectionLostException(ended.getMessage(), ended);
        }
        if (writesLost != null) {
            return new ConnectionLostException(writesLost.getMessage(), writesLost);
        }
        writesLost = failure;
        reader.endIfItStopsAfter(failure);
        return failure;
    }
}
