package io.agentd.agent.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A Write's copies once every direct buffer is in use: small chunks still share a buffer. Before,
 * each heap copy was exactly its chunk's size, so FsWriteStream could append nothing to it, and
 * 1-byte chunks made one object each (about 100 bytes held per byte the Write budget counted).
 */
class FsBuffersTest {
    @Test
    void aHeapCopyMadeWhileEveryBufferIsInUseHasRoomForTheNextSmallChunks() {
        FsBuffers buffers = new FsBuffers();
        List<ByteBuffer> taken = new ArrayList<>();
        ByteBuffer b;
        while ((b = buffers.take(1)).isDirect()) {
            taken.add(b);
        }
        assertFalse(taken.isEmpty(), "the pool made direct buffers first");
        ByteBuffer copy = buffers.copyOf(new byte[] {7});
        assertFalse(copy.isDirect(), "every direct buffer is in use");
        assertEquals(0, copy.position());
        assertEquals(1, copy.limit());
        assertEquals(7, copy.get(0));
        assertTrue(copy.capacity() >= FsBuffers.HEAP_COPY_MIN_BYTES, "room for more: " + copy.capacity());

        // Roomy copies are few at once: past them a copy has a little room only (many Writes of a
        // byte or two each held 64 KiB apiece, outside any budget), yet still some: at the chunk's
        // own size, 1-byte chunks held ~100 bytes of heap per byte budgeted. One released makes room.
        List<ByteBuffer> roomy = new ArrayList<>(List.of(copy));
        while (roomy.size() < FsBuffers.ROOMY_COPIES_MAX) {
            roomy.add(buffers.copyOf(new byte[] {1}));
        }
        assertTrue(roomy.stream().allMatch(r -> r.capacity() == FsBuffers.HEAP_COPY_MIN_BYTES));
        assertEquals(FsBuffers.HEAP_COPY_PAST_ROOMY_BYTES, buffers.copyOf(new byte[] {2}).capacity(),
                "past the roomy ones: a little room for the next small chunks");
        assertEquals(5000, buffers.copyOf(new byte[5000]).capacity(), "a larger chunk: its own size");
        buffers.release(roomy.get(0));
        assertEquals(FsBuffers.HEAP_COPY_MIN_BYTES, buffers.copyOf(new byte[] {3}).capacity());

        taken.forEach(buffers::release);
        ByteBuffer pooled = buffers.copyOf(new byte[] {1, 2});
        assertTrue(pooled.isDirect(), "a released buffer is used again");
        assertEquals(2, pooled.limit());
        assertEquals(FsBuffers.BYTES, pooled.capacity());
    }
}
