package io.agentd.agent.session;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * Direct buffers that hold bulk stdin on its way to the children: data is copied into them once and
 * written to the child's pipe from there (a heap array would be copied to native memory again by
 * every write(2)), and a buffer written out is reused, so streaming stdin allocates nothing. At most
 * {@link #MAX_SEGMENTS} exist at once; beyond that a queue keeps heap copies, as with small frames.
 * The native memory is never more than {@code MAX_SEGMENTS * SEGMENT_BYTES}, and it stays allocated
 * for reuse once touched.
 */
final class StdinSegments {
    /** One segment: the most a write(2) offers a pipe from it. */
    static final int SEGMENT_BYTES = 64 * 1024;
    /** Segments in use or free, all sessions together (4 MiB). */
    static final int MAX_SEGMENTS = 64;

    private static final ArrayDeque<ByteBuffer> free = new ArrayDeque<>();
    private static int allocated;

    private StdinSegments() {}

    /** An empty segment (position 0, limit 0), or null when all of them are in use. */
    static synchronized ByteBuffer take() {
        ByteBuffer b = free.poll();
        if (b == null) {
            if (allocated >= MAX_SEGMENTS) {
                return null;
            }
            allocated++;
            b = ByteBuffer.allocateDirect(SEGMENT_BYTES);
        }
        b.clear().limit(0);
        return b;
    }

    /** A segment taken from here is no longer used. */
    static synchronized void give(ByteBuffer b) {
        free.push(b);
    }

    /** Segments handed out and not given back (tests). */
    static synchronized int inUse() {
        return allocated - free.size();
    }
}
