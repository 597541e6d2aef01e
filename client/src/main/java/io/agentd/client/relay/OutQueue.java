package io.agentd.client.relay;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.util.ArrayDeque;

/**
 * Whole frames waiting for one non-blocking socket, written by gathering writes, with the count of
 * bytes waiting: the relay's water marks look at it. Frames are never split between queues, so what
 * a socket receives is always whole frames in the order they were queued. Selector thread only.
 *
 * <p>A frame may be queued borrowed: a view on the relay's read buffer, so that a run of frames read
 * together goes to the socket in one write straight from that buffer, never copied. Before the
 * buffer is read into again, {@link #keepBorrowed} copies what the socket did not take into direct
 * chunks of a {@link ChunkPool}, packed one after the other (a frame may span two chunks: the socket
 * still receives whole frames in order).
 *
 * <p>Bytes may also wait in a {@link SplicePipe} (the body of a large frame, spliced from the port):
 * the queue holds a span of that many pipe bytes at their place in the order, and its flush splices
 * them to the socket when their turn comes. The spans, in order, are the pipe's content.
 */
final class OutQueue {
    /** Buffers handed to one gathering write. */
    private static final int GATHER = 64;
    /** Buffers ({@link ByteBuffer}) and runs of pipe bytes ({@link Span}), in send order. */
    private final ArrayDeque<Object> frames = new ArrayDeque<>();
    private final ByteBuffer[] batch = new ByteBuffer[GATHER];
    private long bytes;
    /** Bytes written out since the queue was made: with {@link #bytes}, where a byte added now will be. */
    private long written;
    /** How many of the last frames queued are borrowed views (all of them behind the owned ones). */
    private int borrowed;
    private final ChunkPool pool;
    /** What every client's queue holds together (the relay's budget), or null for a queue that does not count. */
    private final Total total;
    private SplicePipe pipe;

    /** Bytes waiting in every queue made with it, together (selector thread only). */
    static final class Total {
        private long bytes;

        long bytes() {
            return bytes;
        }
    }

    /** So many bytes at the head of the pipe, due after the entries before it. */
    private static final class Span {
        long bytes;

        Span(long bytes) {
            this.bytes = bytes;
        }
    }

    OutQueue(ChunkPool pool) {
        this(pool, null);
    }

    /** A queue whose bytes also count in {@code total}. */
    OutQueue(ChunkPool pool, Total total) {
        this.pool = pool;
        this.total = total;
    }

    private void count(long n) {
        bytes += n;
        if (total != null) {
            total.bytes += n;
        }
    }

    /** The pipe whose bytes {@link #addSpliced} counts. */
    void usePipe(SplicePipe pipe) {
        this.pipe = pipe;
    }

    /** Counts {@code n} more bytes put into the pipe, after everything queued so far. */
    void addSpliced(long n) {
        keepBorrowed(); // order: the borrowed views stay the last entries, as the count below needs
        count(n);
        if (frames.peekLast() instanceof Span last) {
            last.bytes += n;
        } else {
            frames.add(new Span(n));
        }
    }

    /**
     * Queues a frame the queue may keep as it is; one that fits in the room left in the last chunk
     * (a copy of borrowed frames) is copied there instead. Kept as an entry of its own, a small frame
     * (a refusal) after a chunk made the next borrowed frame (a pong) open a new 256 KiB chunk for a
     * few bytes: a client that never read and alternated the two had the relay allocate a chunk per
     * 34 bytes counted, gigabytes of direct memory before its queue reached its mark.
     */
    void add(ByteBuffer frame) {
        keepBorrowed(); // order: an owned frame never goes before borrowed ones in the count below
        count(frame.remaining());
        if (frames.peekLast() instanceof ByteBuffer last && pool.isLent(last)
                && last.capacity() - last.limit() >= frame.remaining()) {
            int at = last.limit();
            last.limit(at + frame.remaining()).put(at, frame, frame.position(), frame.remaining());
            return;
        }
        frames.add(frame);
    }

    /** Queues a view on a buffer that will be reused: {@link #keepBorrowed} must come before that. */
    void addBorrowed(ByteBuffer view) {
        count(view.remaining());
        frames.add(view);
        borrowed++;
    }

    /** Copies the borrowed frames the socket has not taken whole into arrays of their own. */
    void keepBorrowed() {
        if (borrowed == 0) {
            return;
        }
        ByteBuffer[] tail = new ByteBuffer[borrowed]; // the borrowed ones still queued are the last ones
        for (int i = borrowed - 1; i >= 0; i--) {
            tail[i] = (ByteBuffer) frames.pollLast();
        }
        ByteBuffer chunk = frames.peekLast() instanceof ByteBuffer last && pool.isLent(last) ? last : null;
        for (ByteBuffer view : tail) {
            while (view.hasRemaining()) {
                if (chunk == null || chunk.limit() == chunk.capacity()) {
                    chunk = pool.take();
                    frames.add(chunk);
                }
                int n = Math.min(view.remaining(), chunk.capacity() - chunk.limit());
                int at = chunk.limit();
                chunk.limit(at + n).put(at, view, view.position(), n);
                view.position(view.position() + n);
            }
        }
        borrowed = 0;
    }

    long bytes() {
        return bytes;
    }

    /** The position, counted in bytes since the queue was made, just past its last byte. */
    long end() {
        return written + bytes;
    }

    /** Bytes written out since the queue was made. */
    long written() {
        return written;
    }

    boolean isEmpty() {
        return frames.isEmpty();
    }

    /** Writes as much as the socket takes now; true when everything went. */
    boolean flush(GatheringByteChannel channel) throws IOException {
        while (!frames.isEmpty()) {
            long moved;
            long wanted;
            if (frames.peek() instanceof Span span) {
                wanted = span.bytes;
                moved = pipe.drain(wanted);
                span.bytes -= moved;
                if (span.bytes == 0) {
                    frames.poll();
                }
            } else {
                int n = 0;
                wanted = 0;
                for (Object entry : frames) {
                    if (!(entry instanceof ByteBuffer b)) {
                        break;
                    }
                    batch[n++] = b;
                    wanted += b.remaining();
                    if (n == GATHER) {
                        break;
                    }
                }
                moved = channel.write(batch, 0, n);
                java.util.Arrays.fill(batch, 0, n, null);
                while (frames.peek() instanceof ByteBuffer b && !b.hasRemaining()) {
                    pool.giveBack((ByteBuffer) frames.poll());
                    if (frames.size() < borrowed) {
                        borrowed--; // a borrowed frame went whole: nothing of it to copy
                    }
                }
            }
            count(-moved);
            written += moved;
            if (moved < wanted) {
                return false; // the socket is full
            }
        }
        return true;
    }

    void clear() {
        for (Object entry : frames) {
            if (entry instanceof ByteBuffer b) {
                pool.giveBack(b);
            }
        }
        frames.clear();
        written += bytes; // dropped: past them all the same, for end() and written()
        count(-bytes);
        borrowed = 0;
    }
}
