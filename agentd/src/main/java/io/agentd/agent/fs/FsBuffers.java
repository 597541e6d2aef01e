package io.agentd.agent.fs;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * Direct buffers of {@value #BYTES} bytes for Read and Write chunks, shared by every connection
 * (any thread). A chunk in a direct buffer goes to and from the file with no copy through the JDK's
 * temporary direct buffer, and reused buffers make no garbage, which under the serial GC grows
 * the heap and with it the RSS; a direct buffer dropped is freed only by a GC, so what comes back
 * is kept, up to {@value #KEPT} buffers (a burst beyond that is left to the collector).
 */
final class FsBuffers {
    static final int BYTES = 256 * 1024;
    /** Buffers kept: a Write's window and a Read's two, with room to spare. */
    private static final int KEPT = 24;

    private final ArrayDeque<ByteBuffer> free = new ArrayDeque<>();

    /** A cleared buffer of {@link #BYTES}, limited to {@code size} (at most {@link #BYTES}). */
    synchronized ByteBuffer take(int size) {
        ByteBuffer b = free.poll();
        if (b == null) {
            b = ByteBuffer.allocateDirect(BYTES);
        }
        return b.clear().limit(size);
    }

    /** Takes back a buffer from {@link #take} no one uses any more; others are ignored. */
    synchronized void release(ByteBuffer b) {
        if (b.isDirect() && b.capacity() == BYTES && free.size() < KEPT) {
            free.push(b);
        }
    }

    /** The bytes of {@code data} in a buffer of the pool, or, when larger, in a heap copy. */
    ByteBuffer copyOf(byte[] data) {
        if (data.length > BYTES) {
            return ByteBuffer.wrap(data.clone());
        }
        return take(data.length).put(data).flip();
    }
}
