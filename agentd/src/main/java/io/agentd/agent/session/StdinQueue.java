package io.agentd.agent.session;

import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.OsException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/** Stdin bytes the host sent and the child has not taken yet, written when its fd is writable. */
final class StdinQueue {
    /** One pipe's default capacity: more per write(2) would only be copied to native memory in vain. */
    private static final int WRITE_BYTES = 64 * 1024;

    /**
     * Bytes queued in every session's stdin together, bounded by --stdin-total (loop thread only).
     */
    static final class Budget {
        private final long limit;
        private long queued;

        Budget(long limit) {
            this.limit = limit;
        }

        boolean fits(long n) {
            return queued + n <= limit;
        }

        long queued() {
            return queued;
        }

        long limit() {
            return limit;
        }
    }

    private final ArrayDeque<ByteBuffer> chunks = new ArrayDeque<>();
    private final Budget budget;
    private long size;

    StdinQueue(Budget budget) {
        this.budget = budget;
    }

    void add(byte[] data) {
        chunks.add(ByteBuffer.wrap(data));
        size += data.length;
        budget.queued += data.length;
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
            budget.queued -= n;
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
        budget.queued -= dropped;
        return dropped;
    }
}
