package io.agentd.agent.session.retain;

/**
 * The kept output of one session: its newest bytes, each with the stream it came from, addressed by
 * output offset (every byte the session wrote, stdout and stderr together, in the order the agent
 * read them). It holds at most its cap: a byte costs a byte, and each change between stdout and
 * stderr costs {@link #RUN_COST} more (the run it starts), so a child alternating one-byte writes
 * cannot make it hold more than its cap. When full, its oldest bytes go first; every byte that
 * goes without having been stored, or is dropped later, is counted in {@link #dropped}.
 *
 * <p>Storage is one byte ring, grown by doubling up to the cap as output arrives (an idle session
 * costs nothing), and a ring of runs: each the offset where a stream's bytes begin. Loop thread only.
 */
public final class OutputRing {
    /** What one run (a change of stream) is charged, in bytes of the cap: the long that records it. */
    public static final int RUN_COST = Long.BYTES;
    /** The smallest cap a ring may have: room for a run and some bytes. */
    public static final long MIN_CAP = 1024;
    public static final int STDOUT = 0;
    public static final int STDERR = 1;
    private static final int FIRST_CAPACITY = 4096;

    /** A piece of kept output, as replay hands it out. */
    @FunctionalInterface
    public interface Sink {
        /** {@code data} (a fresh array) of {@code stream}, starting at output offset {@code offset}. */
        void piece(int stream, long offset, byte[] data);
    }

    private final long cap;
    private byte[] buf = new byte[0];
    /** Index in buf of the oldest byte kept. */
    private int head;
    /** Bytes kept. */
    private int size;
    /** Output offset of the oldest byte kept (or, with none kept, of the next byte). */
    private long start;
    private long dropped;
    /** Ring of runs: offset << 1 | stream, oldest first. The first may start before {@link #start}. */
    private long[] runs = new long[4];
    private int runHead;
    private int runCount;

    /**
     * @param cap         most bytes held (data plus runs), at least {@link #MIN_CAP}
     * @param startOffset the output offset of the first byte it will record: 0 from the start, or
     *                    the bytes already sent when a kept session's host left
     */
    public OutputRing(long cap, long startOffset) {
        if (cap < MIN_CAP || cap > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("ring cap " + cap + " is outside " + MIN_CAP + ".." + Integer.MAX_VALUE);
        }
        this.cap = cap;
        this.start = startOffset;
    }

    /** Offset of the oldest byte kept. */
    public long start() {
        return start;
    }

    /** Offset just past the newest byte: every output byte the session wrote since the ring's start offset. */
    public long end() {
        return start + size;
    }

    /** Bytes dropped (or never stored) since the ring began. */
    public long dropped() {
        return dropped;
    }

    /** What the ring is charged: its bytes and its runs. */
    public long held() {
        return size + (long) RUN_COST * runCount;
    }

    public long cap() {
        return cap;
    }

    /**
     * Records {@code len} bytes of {@code stream}, dropping the oldest kept bytes to stay within the
     * cap (of a write larger than the cap, only its tail is kept).
     *
     * @return the change in {@link #held} (negative when a large write replaced many runs)
     */
    public long append(int stream, byte[] src, int off, int len) {
        if (len <= 0) {
            return 0;
        }
        long before = held();
        long room = cap - RUN_COST;
        if (len > room) {
            int skip = (int) (len - room);
            dropOldest(held());
            start += skip;
            dropped += skip;
            off += skip;
            len -= skip;
        }
        while (true) {
            long need = len + (continuesLastRun(stream) ? 0 : RUN_COST);
            long over = held() + need - cap;
            if (over <= 0) {
                break;
            }
            dropOldest(over);
        }
        if (!continuesLastRun(stream)) {
            addRun(end(), stream);
        }
        ensureCapacity(size + len);
        int tail = (head + size) % buf.length;
        int first = Math.min(len, buf.length - tail);
        System.arraycopy(src, off, buf, tail, first);
        System.arraycopy(src, off + first, buf, 0, len - first);
        size += len;
        return held() - before;
    }

    /**
     * Drops at least {@code charge} of what the ring holds (or all of it), oldest bytes first.
     *
     * @return the charge freed (bytes and the runs that went with them)
     */
    public long dropOldest(long charge) {
        long before = held();
        int bytes = (int) Math.min(size, Math.max(0, charge));
        head = buf.length == 0 ? 0 : (head + bytes) % buf.length;
        size -= bytes;
        start += bytes;
        dropped += bytes;
        if (size == 0) {
            runCount = 0;
            runHead = 0;
        }
        // A run is gone once the next one starts at or before the oldest byte kept.
        while (runCount > 1 && runOffset(1) <= start) {
            runHead = (runHead + 1) % runs.length;
            runCount--;
        }
        return before - held();
    }

    /** Gives back all memory: nothing is kept any more (the bytes count as dropped). */
    public long clear() {
        long freed = dropOldest(held());
        buf = new byte[0];
        head = 0;
        return freed;
    }

    /**
     * Hands out the kept bytes from {@code from} (at least {@link #start}, at most {@link #end}) to
     * the end, in order, one piece per run, pieces at most {@code maxPiece} bytes.
     */
    public void replay(long from, int maxPiece, Sink sink) {
        if (from < start || from > end()) {
            throw new IllegalArgumentException("replay from " + from + " outside " + start + ".." + end());
        }
        for (int r = 0; r < runCount; r++) {
            long runStart = Math.max(runOffset(r), start);
            long runEnd = r + 1 < runCount ? runOffset(r + 1) : end();
            int stream = (int) (runs[(runHead + r) % runs.length] & 1);
            for (long at = Math.max(runStart, from); at < runEnd; ) {
                int n = (int) Math.min(maxPiece, runEnd - at);
                sink.piece(stream, at, copy(at, n));
                at += n;
            }
        }
    }

    private byte[] copy(long offset, int n) {
        byte[] out = new byte[n];
        int from = (int) ((head + (offset - start)) % buf.length);
        int first = Math.min(n, buf.length - from);
        System.arraycopy(buf, from, out, 0, first);
        System.arraycopy(buf, 0, out, first, n - first);
        return out;
    }

    private boolean continuesLastRun(int stream) {
        return runCount > 0 && (runs[(runHead + runCount - 1) % runs.length] & 1) == stream;
    }

    private long runOffset(int r) {
        return runs[(runHead + r) % runs.length] >>> 1;
    }

    private void addRun(long offset, int stream) {
        if (runCount == runs.length) {
            long[] grown = new long[runs.length * 2];
            for (int i = 0; i < runCount; i++) {
                grown[i] = runs[(runHead + i) % runs.length];
            }
            runs = grown;
            runHead = 0;
        }
        runs[(runHead + runCount) % runs.length] = offset << 1 | stream;
        runCount++;
    }

    private void ensureCapacity(int needed) {
        if (needed <= buf.length) {
            return;
        }
        int capacity = Math.max(buf.length, FIRST_CAPACITY);
        while (capacity < needed) {
            capacity = (int) Math.min(cap, (long) capacity * 2);
        }
        byte[] grown = new byte[capacity];
        int first = Math.min(size, buf.length - head);
        System.arraycopy(buf, head, grown, 0, first);
        System.arraycopy(buf, 0, grown, first, size - first);
        buf = grown;
        head = 0;
    }
}
