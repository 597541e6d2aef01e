package io.agentd.agent.fs;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * A Write's buffers on their way from the loop to the worker that writes them ({@link FsWriteStream}):
 * the host's chunks copied into {@link FsBuffers} (direct, reused) and queued on the loop, then
 * handed to the worker, which takes them one at a time, in order, until the loop stops it.
 */
final class FsWriteQueue {
    private final FsBuffers buffers;
    /** Chunks on the loop, not handed yet; the last may take more small chunks ({@link #appendToLast}). */
    private final ArrayDeque<ByteBuffer> queue = new ArrayDeque<>();
    /** Buffers handed to the worker, written in this order; the loop adds, the worker takes. */
    private final ConcurrentLinkedQueue<ByteBuffer> handed = new ConcurrentLinkedQueue<>();
    /**
     * Guards the worker's take of its next buffer against {@link #stop}: once the loop has stopped
     * it, the worker takes none, and the loop knows whether one was being written then.
     */
    private final Object handOver = new Object();
    /** The worker takes no more buffers (guarded by {@link #handOver}). */
    private boolean stopped;
    /** The worker is writing a buffer it took (guarded by {@link #handOver}). */
    private boolean writingBuffer;

    FsWriteQueue(FsBuffers buffers) {
        this.buffers = buffers;
    }

    /** Loop thread: queues a copy of {@code data} (the decoder reuses a data frame's array once it was handled). */
    void add(byte[] data) {
        if (!appendToLast(data)) {
            queue.add(buffers.copyOf(data));
        }
    }

    /**
     * Copies {@code data} after the bytes of the last queued buffer when it has room: agentctl sends
     * 64 KiB frames, and four to a pooled buffer keep them direct (no copy through the JDK's
     * temporary buffer, none for the digest) without a queue holding a 256 KiB buffer per frame.
     * A buffer handed to a worker has left the queue, so only the loop touches this one.
     */
    private boolean appendToLast(byte[] data) {
        ByteBuffer last = queue.peekLast();
        if (last == null || last.capacity() - last.limit() < data.length) {
            return false;
        }
        int end = last.limit();
        last.limit(end + data.length).position(end);
        last.put(data).position(0);
        return true;
    }

    /**
     * Loop thread: hands the queued buffers to the worker. With {@code keepLast}, the last one stays
     * on the loop until it is full, to take the host's next small chunks.
     */
    void handOn(boolean keepLast) {
        while (queue.size() > 1 || (!queue.isEmpty() && (!keepLast || isFull(queue.peekLast())))) {
            handed.add(queue.poll());
        }
    }

    private static boolean isFull(ByteBuffer b) {
        return b.limit() == b.capacity();
    }

    /** Whether any buffer was handed and not taken yet. */
    boolean anyHanded() {
        return !handed.isEmpty();
    }

    /** Loop thread: no buffer is queued or handed (one the worker took may still be being written). */
    boolean isEmpty() {
        return queue.isEmpty() && handed.isEmpty();
    }

    /** On the worker: the next handed buffer, or null when none is left or the loop stopped it. */
    ByteBuffer take() {
        synchronized (handOver) {
            ByteBuffer chunk = stopped ? null : handed.poll();
            writingBuffer = chunk != null;
            return chunk;
        }
    }

    /** On the worker: the buffer it took is written, and reported. */
    void taken() {
        synchronized (handOver) {
            writingBuffer = false;
        }
    }

    /** Loop thread: the worker takes no more buffers. Returns whether it was writing one then. */
    boolean stop() {
        synchronized (handOver) {
            stopped = true;
            return writingBuffer;
        }
    }

    /**
     * Gives back the buffers no worker holds: the loop's queue, and what was handed (the worker
     * takes none once stopped). Returns the bytes they held.
     */
    long releaseAll() {
        long bytes = 0;
        for (ByteBuffer b : queue) {
            bytes += b.remaining();
            buffers.release(b);
        }
        queue.clear();
        return bytes + releaseHanded();
    }

    /** Gives back the handed buffers the worker did not take. Returns the bytes they held. */
    long releaseHanded() {
        long bytes = 0;
        for (ByteBuffer b; (b = handed.poll()) != null; ) {
            bytes += b.remaining();
            buffers.release(b);
        }
        return bytes;
    }
}
