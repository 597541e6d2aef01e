package io.agentd.client.relay;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;

/**
 * Direct buffers of {@link #CHUNK} bytes for what a client's socket did not take of a read from the
 * agent. Direct, because the JDK copies a heap buffer into a temporary direct one on every write
 * (all of it, however little the socket takes, and allocating anew when none cached is as large);
 * pooled, because allocating direct memory clears it and is slow. At most {@link #KEPT} free chunks
 * stay here; more go to the garbage collector. Selector thread only.
 */
final class ChunkPool {
    static final int CHUNK = 256 * 1024;
    private static final int KEPT = 16;

    private final ArrayDeque<ByteBuffer> free = new ArrayDeque<>();
    private final Set<ByteBuffer> lent = Collections.newSetFromMap(new IdentityHashMap<>());

    /** An empty chunk: position 0, limit 0 (the writer moves the limit as it fills it). */
    ByteBuffer take() {
        ByteBuffer chunk = free.poll();
        if (chunk == null) {
            chunk = ByteBuffer.allocateDirect(CHUNK);
        }
        lent.add(chunk);
        return chunk.clear().limit(0);
    }

    /** True when {@code buffer} is a chunk of this pool not given back yet. */
    boolean isLent(ByteBuffer buffer) {
        return lent.contains(buffer);
    }

    /** Takes back a buffer if it is one of this pool's chunks; ignores any other. */
    void giveBack(ByteBuffer buffer) {
        if (lent.remove(buffer) && free.size() < KEPT) {
            free.add(buffer);
        }
    }
}
