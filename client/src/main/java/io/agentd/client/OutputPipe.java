package io.agentd.client;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.ArrayDeque;
import java.util.Objects;

/**
 * One output stream of a session ({@link ExecSession#stdout()}, {@link ExecSession#stderr()}): the
 * connection's reader puts each frame's data in, the caller reads it out. Bounded like a pipe: once
 * {@code capacity} bytes wait, plus the overfill the put allows, the reader thread waits in
 * {@link #put} until the caller reads (a chunk larger than that is taken whole when nothing waits,
 * so the bound is the larger of the two and one frame's data). The overfill is what an agent asked
 * to hold the session's output may still send ({@link OutputHold}). The frames' arrays are queued
 * as they are, without copying. After each read and at {@link #close}, {@code onRead} runs on the
 * caller's thread, outside the pipe's lock. Before a read waits for data, {@code beforeWait} runs and
 * may refuse the wait by throwing: on the connection's reader thread (an {@link OutputListener}) the
 * data could only come from that thread, so the read would wait for ever with the whole connection.
 *
 * <p>After {@link #finish} and the last byte, {@code read} returns -1, or throws the failure the
 * session ended with (the output may be cut short). {@link #close} discards what waits and what
 * comes later, so a caller that does not want a stream never holds up the reader.
 */
final class OutputPipe extends InputStream {
    private final int capacity;
    private final Runnable onRead;
    private final Runnable beforeWait;
    private final ArrayDeque<byte[]> chunks = new ArrayDeque<>(); // guarded by this
    private int headOffset; // read position in chunks.peekFirst(); guarded by this
    private long queuedBytes; // guarded by this
    private boolean finished; // guarded by this
    private AgentException failure; // guarded by this
    private boolean closed; // guarded by this

    OutputPipe(int capacity, Runnable onRead, Runnable beforeWait) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity must be positive: " + capacity);
        }
        this.capacity = capacity;
        this.onRead = onRead;
        this.beforeWait = beforeWait;
    }

    /**
     * Queues {@code data}, waiting while more than {@code capacity + overfill} bytes would wait; on
     * the reader thread. Returns at once, dropping the data, when the pipe was closed or finished
     * (the session was aborted meanwhile).
     */
    synchronized void put(byte[] data, long overfill) {
        if (data.length == 0) {
            return;
        }
        long limit = capacity + overfill;
        boolean interrupted = false;
        while (!closed && !finished && queuedBytes > 0 && queuedBytes + data.length > limit) {
            try {
                wait();
            } catch (InterruptedException e) {
                interrupted = true; // the reader is not interrupted on purpose; finish() releases it
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (closed || finished) {
            return;
        }
        chunks.addLast(data);
        queuedBytes += data.length;
        notifyAll();
    }

    /** No more data: readers get what waits, then EOF, or {@code failure} when it is not null. */
    synchronized void finish(AgentException failure) {
        if (!finished) {
            finished = true;
            this.failure = failure;
            notifyAll();
        }
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    /** The bytes waiting to be read. */
    synchronized long queued() {
        return queuedBytes;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        int n = take(b, off, len);
        if (n > 0) {
            onRead.run();
        }
        return n;
    }

    private synchronized int take(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        if (closed) {
            throw new IOException("stream closed");
        }
        if (len == 0) {
            return 0;
        }
        while (chunks.isEmpty()) {
            if (finished) {
                if (failure != null) {
                    throw failure.forCaller(); // recorded by the reader thread, met by every read
                }
                return -1;
            }
            beforeWait.run();
            try {
                wait();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while waiting for output");
            }
            if (closed) {
                throw new IOException("stream closed");
            }
        }
        byte[] head = chunks.peekFirst();
        int n = Math.min(len, head.length - headOffset);
        System.arraycopy(head, headOffset, b, off, n);
        headOffset += n;
        if (headOffset == head.length) {
            chunks.removeFirst();
            headOffset = 0;
        }
        queuedBytes -= n;
        notifyAll();
        return n;
    }

    @Override
    public synchronized int available() throws IOException {
        if (closed) {
            throw new IOException("stream closed");
        }
        return (int) Math.min(Integer.MAX_VALUE, queuedBytes);
    }

    /** Discards what waits and everything that comes later; releases a reader thread waiting in put. */
    @Override
    public void close() {
        synchronized (this) {
            closed = true;
            chunks.clear();
            headOffset = 0;
            queuedBytes = 0;
            notifyAll();
        }
        onRead.run();
    }
}
