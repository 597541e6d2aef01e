package io.agentd.agent;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * The stage between an appender and its sink (standard error, the log file): each write is one
 * encoded line, copied into a bounded queue, and a daemon thread of its own writes the lines to the
 * sink in order. The thread that logs (the event loop, which serves every host) never waits on the
 * sink: in the guest standard error is the serial console, and a burst of lines, or a steady stream of
 * them, held every host's frames for as long as the console took to print them.
 *
 * <p>When a line does not fit it is dropped whole and counted; the lines dropped in a row are told at
 * their place in the log, in one line made by {@link DroppedNotice}, as soon as the lines before them
 * are written. That line is the one thing the writer formats itself (through the appender's encoder,
 * which threads share); every other line comes encoded. logback's AsyncAppender does not do this: with
 * neverBlock it drops events without a word, and its discardingThreshold drops INFO and below without
 * a word once the queue is 80% full; without neverBlock it blocks the caller when full.
 *
 * <p>{@link #close} waits at most {@link #CLOSE_WAIT_MILLIS} for the queue to be written (the shutdown
 * line, a fatal error's): a sink that takes nothing must not hold the agent's exit.
 */
final class LogLineQueue extends OutputStream {
    /**
     * Bytes of lines queued at most: about 1400 lines of 185 bytes, some 20 s of a 115200-baud console,
     * enough for a thousand sessions started in a burst; held only while the sink is behind (nothing is
     * allocated ahead), small beside the agent's heap.
     */
    static final int CAPACITY_BYTES = 256 * 1024;
    /** What a queued line costs beyond its bytes (its array's header, its slot in the queue). */
    static final int LINE_OVERHEAD_BYTES = 32;
    static final long CLOSE_WAIT_MILLIS = 2000;
    /** The writer's calls are shallow: a write(2) and, after drops, one line's encoding. */
    private static final long WRITER_STACK_BYTES = 256 * 1024;

    /** The line that says how many lines were dropped at its place, encoded as the sink's other lines. */
    @FunctionalInterface
    interface DroppedNotice {
        byte[] line(long lines, long bytes);
    }

    /** Where lines were dropped, in the queue's order: the count of the drops in a row. */
    private static final class Drop {
        long lines;
        long bytes;
    }

    private final OutputStream sink;
    private final int capacityBytes;
    private final DroppedNotice notice;
    /** Lines (byte[]) and drops ({@link Drop}), oldest first; guarded by this. */
    private final ArrayDeque<Object> queue = new ArrayDeque<>();
    /** The last element of {@link #queue} when it is a drop, which further drops add to; else null. */
    private Drop lastDrop;
    /** What the lines queued cost; the one being written stays queued (and counted) until written. */
    private long queuedBytes;
    private boolean closed;
    /** Made on the first line: an agent that logs nothing starts no thread. */
    private Thread writer;

    LogLineQueue(OutputStream sink, int capacityBytes, DroppedNotice notice) {
        this.sink = sink;
        this.capacityBytes = capacityBytes;
        this.notice = notice;
    }

    /** Queues the line, or drops and counts it when it does not fit; never waits for the sink. */
    @Override
    public synchronized void write(byte[] b, int off, int len) {
        if (closed) {
            return; // the appender is stopped: logback writes nothing after it
        }
        long cost = (long) len + LINE_OVERHEAD_BYTES;
        // Once full, lines are taken again only when half the room is free: drops come in runs, each
        // told in one line, not a notice between every two lines written while the sink stays behind.
        if (queuedBytes + cost > (lastDrop != null ? capacityBytes / 2 : capacityBytes)) {
            if (lastDrop == null) {
                lastDrop = new Drop();
                queue.add(lastDrop);
            }
            lastDrop.lines++;
            lastDrop.bytes += len;
        } else {
            queue.add(Arrays.copyOfRange(b, off, off + len));
            queuedBytes += cost;
            lastDrop = null;
        }
        if (writer == null) {
            writer = new Thread(null, this::writeLines, "agentd-log-writer", WRITER_STACK_BYTES);
            writer.setDaemon(true);
            writer.start();
        }
        notifyAll();
    }

    @Override
    public void write(int b) {
        write(new byte[] {(byte) b}, 0, 1);
    }

    /** Nothing to do: the writer writes each line as it comes (the appender flushes after each). */
    @Override
    public void flush() {}

    /**
     * Waits until every queued line is written, at most {@code millis}; true when it is. Lines logged
     * meanwhile are waited for too.
     */
    synchronized boolean awaitWritten(long millis) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000;
        while (!queue.isEmpty()) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            wait(Math.max(1, left / 1_000_000));
        }
        return true;
    }

    /**
     * Lets the writer finish what is queued, for {@link #CLOSE_WAIT_MILLIS} at most, then closes the
     * sink (unless the writer is still in a write to it: it is left to the process's exit).
     */
    @Override
    public void close() throws IOException {
        boolean written;
        try {
            written = awaitWritten(CLOSE_WAIT_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while the log's last lines were written");
        }
        synchronized (this) {
            closed = true;
            notifyAll();
        }
        if (written) {
            sink.close();
        }
    }

    /** The writer thread: each element in order, until closed with nothing left. */
    private void writeLines() {
        while (true) {
            Object next;
            synchronized (this) {
                while (queue.isEmpty() && !closed) {
                    try {
                        wait();
                    } catch (InterruptedException ignored) {
                        // nobody interrupts it; the queue decides when it ends
                    }
                }
                if (queue.isEmpty()) {
                    return;
                }
                next = queue.peekFirst();
                if (next == lastDrop) {
                    lastDrop = null; // later drops are told in a line of their own, after the lines kept before them
                }
            }
            long cost = 0;
            try {
                if (next instanceof byte[] line) {
                    cost = (long) line.length + LINE_OVERHEAD_BYTES;
                    sink.write(line);
                } else {
                    Drop drop = (Drop) next; // no longer the last drop: its counts are final
                    sink.write(notice.line(drop.lines, drop.bytes));
                }
                sink.flush();
            } catch (IOException | RuntimeException e) {
                // The sink is gone (a closed pipe): nothing can tell it. The line is let go as if written.
            } finally {
                synchronized (this) {
                    queue.pollFirst();
                    queuedBytes -= cost;
                    notifyAll();
                }
            }
        }
    }
}
