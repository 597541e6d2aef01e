package io.agentd.agent.fs;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Direct buffers of {@value #BYTES} bytes for Read and Write chunks, shared by every connection
 * (any thread). A chunk in a direct buffer goes to and from the file with no copy through the JDK's
 * temporary direct buffer, and reused buffers make no garbage, which under the serial GC grows
 * the heap and with it the RSS. A direct buffer dropped would be freed only by a GC, so at most
 * {@value #MADE} are ever made and all are kept; while every one is in use (many transfers at once),
 * a transfer gets heap buffers, garbage as before. A Write appends a host's small chunks to the
 * buffer it queued last while that has room ({@link FsWriteStream}), so small frames share buffers
 * instead of holding one each.
 */
final class FsBuffers {
    static final int BYTES = 256 * 1024;
    /** Direct buffers made at most: a Write's window (16) and a Read's four, with room to spare. */
    private static final int MADE = 24;

    /** Bytes of Read buffers all connections may hold at once, by default: 32 Reads reading ahead in full. */
    static final long READ_BUDGET_DEFAULT = 32L * 1024 * 1024;

    private final ArrayDeque<ByteBuffer> free = new ArrayDeque<>();
    private int made;
    /** Most bytes of Read buffers held at once, agent-wide ({@link #reserveOrWait}). */
    private final long readBudget;
    /** Bytes of Read buffers held now. */
    private long readHeld;
    /** Reads waiting for the budget: each is told once when some is given back, and tries again. */
    private final List<Runnable> readWaiters = new ArrayList<>();

    FsBuffers() {
        this(READ_BUDGET_DEFAULT);
    }

    FsBuffers(long readBudget) {
        this.readBudget = readBudget;
    }

    /**
     * Reserves {@code bytes} of the Read budget; true when they fit. A Read takes its buffers only
     * when it runs (not when it is asked for), each within the budget, so 256 Reads on a connection
     * cannot allocate ~1 MiB each at once. When they do not fit and {@code waiter} is not null, it
     * is run (on the thread that gives bytes back) once some come back.
     */
    synchronized boolean reserveOrWait(long bytes, Runnable waiter) {
        if (readHeld + bytes <= readBudget) {
            readHeld += bytes;
            return true;
        }
        if (waiter != null) {
            readWaiters.add(waiter);
        }
        return false;
    }

    /** Gives back bytes {@link #reserveOrWait} reserved, and wakes the Reads that waited. */
    void unreserve(long bytes) {
        List<Runnable> wake;
        synchronized (this) {
            readHeld -= bytes;
            if (readWaiters.isEmpty()) {
                return;
            }
            wake = new ArrayList<>(readWaiters);
            readWaiters.clear();
        }
        wake.forEach(Runnable::run);
    }

    /** Bytes of Read buffers held now (tests, logs). */
    synchronized long readHeld() {
        return readHeld;
    }

    /**
     * A cleared buffer of {@link #BYTES} limited to {@code size} (at most {@link #BYTES}), or, when
     * all are in use, a heap buffer of {@code size}.
     */
    synchronized ByteBuffer take(int size) {
        ByteBuffer b = free.poll();
        if (b == null && made < MADE) {
            made++;
            b = ByteBuffer.allocateDirect(BYTES);
        } else if (b == null) {
            return ByteBuffer.allocate(size);
        }
        return b.clear().limit(size);
    }

    /** Takes back a buffer from {@link #take} no one uses any more; others are ignored. */
    synchronized void release(ByteBuffer b) {
        if (b.isDirect() && b.capacity() == BYTES) {
            free.push(b);
        }
    }

    /**
     * The bytes of {@code data} in a buffer of the pool (position 0, limit their length, the rest of
     * its capacity free for more), or in a heap copy of their size when they are larger than
     * {@link #BYTES} or every buffer is in use.
     */
    ByteBuffer copyOf(byte[] data) {
        if (data.length > BYTES) {
            return ByteBuffer.wrap(data.clone());
        }
        return take(data.length).put(data).flip();
    }
}
