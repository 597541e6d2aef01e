package io.agentd.agent.session;

import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.OsException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/** Stdin bytes the host sent and the child has not taken yet, written when its fd is writable. */
final class StdinQueue {
    /** One pipe's default capacity: more per write(2) would only be copied to native memory in vain. */
    private static final int WRITE_BYTES = 64 * 1024;

    private final ArrayDeque<ByteBuffer> chunks = new ArrayDeque<>();
    private long size;

    void add(byte[] data) {
        chunks.add(ByteBuffer.wrap(data));
        size += data.length;
    }

    long size() {
        return size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    /** Writes to a non-blocking fd until it would block or the queue is empty; returns bytes written. */
    long writeTo(int fd) throws OsException {
        long written = 0;
        ByteBuffer head;
        while ((head = chunks.peek()) != null) {
            int n = Os.write(fd, head, WRITE_BYTES);
            if (n == Os.WOULD_BLOCK) {
                break;
            }
            written += n;
            size -= n;
            if (!head.hasRemaining()) {
                chunks.poll();
            }
        }
        return written;
    }

    /** Drops what is queued; returns how many bytes were dropped. */
    long clear() {
        long dropped = size;
        chunks.clear();
        size = 0;
        return dropped;
    }
}
