package io.agentd.agent.session;

import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.OsException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * Stdin bytes the host sent and the child has not taken yet, written when its fd is writable.
 *
 * <p>Frames are copied in (the decoder reuses a data frame's array once it was handled), appended
 * to the last chunk while it has room. A new chunk is a pooled direct segment of
 * {@link StdinSegments#SEGMENT_BYTES} for a bulk remainder ({@link #BULK_BYTES} or more, while the
 * pool has one), a {@link #GATHER_BYTES} heap chunk for a small one, else a heap copy of the exact
 * size. Since a frame fills the last chunk before it opens another, every chunk but the last is
 * full: what a queued byte costs stays close to one byte whatever the frame sizes, the last chunk
 * aside, and the number of chunks is bounded by the bytes queued (each holds GATHER_BYTES or more).
 */
final class StdinQueue {
    /** One pipe's default capacity: more per write(2) from a heap chunk would only be copied to native memory in vain. */
    static final int WRITE_BYTES = 64 * 1024;
    /** Remainders smaller than this are gathered into shared heap chunks of this size. */
    static final int GATHER_BYTES = 4096;
    /** Remainders of at least this go into direct segments (so a segment is at least half used when opened). */
    static final int BULK_BYTES = StdinSegments.SEGMENT_BYTES / 2;

    private final ArrayDeque<ByteBuffer> chunks = new ArrayDeque<>();
    /** The last chunk while more may be appended to it (its limit is where the next byte goes); else null. */
    private ByteBuffer tail;
    private long size;

    void add(byte[] data) {
        add(data, 0, data.length);
    }

    /** Queues {@code len} bytes of {@code data} from {@code off}. */
    void add(byte[] data, int off, int len) {
        size += len;
        while (len > 0) {
            if (tail == null || tail.limit() == tail.capacity()) {
                tail = newChunk(len);
                chunks.add(tail);
            }
            int n = Math.min(len, tail.capacity() - tail.limit());
            int end = tail.limit();
            tail.limit(end + n);
            tail.put(end, data, off, n);
            off += n;
            len -= n;
        }
    }

    private static ByteBuffer newChunk(int remainder) {
        if (remainder >= BULK_BYTES) {
            ByteBuffer segment = StdinSegments.take();
            if (segment != null) {
                return segment;
            }
        }
        int capacity = remainder < GATHER_BYTES ? GATHER_BYTES : remainder;
        return ByteBuffer.allocate(capacity).limit(0);
    }

    long size() {
        return size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    /** Chunks queued (each costs a buffer and a deque slot besides its bytes). */
    int chunkCount() {
        return chunks.size();
    }

    /** Writes to a non-blocking fd until it would block or the queue is empty; returns bytes written. */
    long writeTo(int fd) throws OsException {
        return writeTo(fd, SessionIo.SYSTEM);
    }

    /** {@link #writeTo(int)} through {@code io} (a test's script, or the kernel). */
    long writeTo(int fd, SessionIo io) throws OsException {
        long written = 0;
        ByteBuffer head;
        while ((head = chunks.peek()) != null) {
            int n = io.write(fd, head, head.isDirect() ? head.remaining() : WRITE_BYTES);
            if (n == Os.WOULD_BLOCK) {
                break;
            }
            written += n;
            size -= n;
            if (!head.hasRemaining()) {
                release(chunks.poll());
            }
        }
        return written;
    }

    private void release(ByteBuffer chunk) {
        if (chunk == tail) {
            tail = null;
        }
        if (chunk.isDirect()) {
            StdinSegments.give(chunk);
        }
    }

    /** Drops what is queued; returns how many bytes were dropped. */
    long clear() {
        long dropped = size;
        ByteBuffer chunk;
        while ((chunk = chunks.poll()) != null) {
            release(chunk);
        }
        tail = null;
        size = 0;
        return dropped;
    }
}
