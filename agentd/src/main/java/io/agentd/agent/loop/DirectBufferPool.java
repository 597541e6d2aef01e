package io.agentd.agent.loop;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * Direct buffers of one size, handed from a connection that is done with them to the next one that
 * needs them. A direct buffer's memory goes back to the system only when a garbage collection finds
 * its ByteBuffer unreachable, and the agent allocates so little on the heap that one may not come
 * for a long time: before this pool, every socket connection left its output segment and read
 * buffer (320 KiB, zeroed, so resident) behind, and 60 `agentctl ping`s grew the agent by 14 MiB.
 *
 * <p>At most {@code kept} free buffers are held; one given back beyond that is dropped for the
 * collector, as before. A buffer comes back cleared, not zeroed: its user reads only what it wrote.
 * Thread-safe (each agent's links run on its loop thread, but a JVM may run several loops: tests).
 */
public final class DirectBufferPool {
    /** The output queues' segments ({@link OutboundQueue}). */
    public static final DirectBufferPool SEGMENTS = new DirectBufferPool(OutboundQueue.SEGMENT_BYTES, 8);
    /** The host links' read buffers (PortLink). */
    public static final DirectBufferPool READS = new DirectBufferPool(64 * 1024, 8);

    private final int bytes;
    private final int kept;
    private final ArrayDeque<ByteBuffer> free = new ArrayDeque<>();

    DirectBufferPool(int bytes, int kept) {
        this.bytes = bytes;
        this.kept = kept;
    }

    /** The size of this pool's buffers. */
    public int bytes() {
        return bytes;
    }

    /** A free buffer, or a new one: position 0, limit and capacity {@link #bytes()}. */
    public synchronized ByteBuffer take() {
        ByteBuffer b = free.pollLast(); // the most recently used: its pages are the likeliest resident
        return b != null ? b : ByteBuffer.allocateDirect(bytes);
    }

    /** Gives back a buffer its user will not touch again (one of another size is left alone). */
    public synchronized void give(ByteBuffer b) {
        for (ByteBuffer held : free) {
            if (held == b) { // by identity: ByteBuffer.equals compares contents
                throw new IllegalStateException("a buffer given back twice: two users would share it");
            }
        }
        if (b.isDirect() && b.capacity() == bytes && free.size() < kept) {
            free.addLast(b.clear());
        }
    }

    /** Free buffers held now (tests). */
    synchronized int freeCount() {
        return free.size();
    }
}
