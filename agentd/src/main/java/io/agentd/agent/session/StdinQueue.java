package io.agentd.agent.session;

import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.OsException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * Stdin bytes the host sent and the child has not taken yet, written when its fd is writable.
 *
 * <p>What a queued byte costs in memory stays close to one byte whatever the frame sizes: a frame
 * under {@link #GATHER_BYTES} is copied into the last chunk (a chunk of that size gathering small
 * frames) instead of being queued with its own array, buffer and deque slot, and a gathering chunk
 * that is closed with room left is cut to its contents. So every chunk but the last holds either a
 * frame of at least GATHER_BYTES or, together with its neighbour, more than GATHER_BYTES: the number
 * of chunks is bounded by the bytes queued, and the bytes queued by the session's limits.
 */
final class StdinQueue {
    /** One pipe's default capacity: more per write(2) would only be copied to native memory in vain. */
    private static final int WRITE_BYTES = 64 * 1024;
    /** Frames smaller than this are gathered into shared chunks of this size. */
    static final int GATHER_BYTES = 4096;

    private final ArrayDeque<ByteBuffer> chunks = new ArrayDeque<>();
    /** The last chunk while it gathers small frames (its limit is where the next one goes); else null. */
    private ByteBuffer gathering;
    private long size;

    void add(byte[] data) {
        if (data.length >= GATHER_BYTES) {
            closeGathering();
            chunks.add(ByteBuffer.wrap(data));
        } else if (data.length > 0) {
            if (gathering != null && gathering.capacity() - gathering.limit() < data.length) {
                closeGathering();
            }
            if (gathering == null) {
                gathering = ByteBuffer.allocate(GATHER_BYTES).limit(0);
                chunks.add(gathering);
            }
            int end = gathering.limit();
            System.arraycopy(data, 0, gathering.array(), end, data.length);
            gathering.limit(end + data.length);
        }
        size += data.length;
    }

    /** No more frames go into the gathering chunk: cut it to what it holds if that saves memory. */
    private void closeGathering() {
        if (gathering == null) {
            return;
        }
        if (gathering.remaining() < GATHER_BYTES / 2) {
            byte[] exact = new byte[gathering.remaining()];
            gathering.get(exact);
            chunks.pollLast();
            chunks.add(ByteBuffer.wrap(exact));
        }
        gathering = null;
    }

    long size() {
        return size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    /** Chunks queued (each costs an array, a buffer and a deque slot besides its bytes). */
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
            int n = io.write(fd, head, WRITE_BYTES);
            if (n == Os.WOULD_BLOCK) {
                break;
            }
            written += n;
            size -= n;
            if (!head.hasRemaining()) {
                chunks.poll();
                if (head == gathering) {
                    gathering = null;
                }
            }
        }
        return written;
    }

    /** Drops what is queued; returns how many bytes were dropped. */
    long clear() {
        long dropped = size;
        chunks.clear();
        gathering = null;
        size = 0;
        return dropped;
    }
}
