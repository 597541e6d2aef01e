package io.agentd.agent.session.retain;

/**
 * The kept output of one session: its newest bytes, each with the stream it came from, addressed by
 * output offset (every byte the session wrote, stdout and stderr together, in the order the agent
 * read them). It holds at most its cap: a byte costs a byte, and each change between stdout and
 * stderr costs {@link #RUN_COST} more (the run it starts), so a child alternating one-byte writes
 * cannot make it hold more than its cap. When full, its oldest bytes go first; every byte that
 * goes without having been stored, or is dropped later, is counted in {@link #dropped}.
 *
 * <p>Storage is a ring of {@link #CHUNK}-byte chunks, each covering an aligned range of output
 * offsets: a chunk is allocated when output reaches it and freed once every byte in it is dropped,
 * so what a ring allocates follows what it keeps ({@link #allocated}: at most {@link #held} plus two
 * chunks, its chunk table and its runs' slack), also after the agent-wide total trimmed it; an idle
 * session costs nothing. Beside it a ring of runs, each the offset where a stream's bytes begin,
 * grown by doubling and halved when a quarter full. Loop thread only.
 */
public final class OutputRing {
    /**
     * What one run (a change of stream) is charged, in bytes of the cap: what replaying it costs
     * beyond its bytes, one data frame's length prefix and envelope (a one-byte core.exec.stderr on
     * a 32-bit id is 47 bytes), which is more than the long that records it. Charged less, a ring of
     * one-byte runs replayed to an attacher queued five times its cap (a hostile review: 50 attaches
     * to such sessions, each never read, took the agent past its direct-memory limit).
     */
    public static final int RUN_COST = 64;
    /** The smallest cap a ring may have: room for a run and some bytes. */
    public static final long MIN_CAP = 1024;
    public static final int STDOUT = 0;
    public static final int STDERR = 1;
    /** Bytes of one chunk of kept output. */
    public static final int CHUNK = 4096;
    private static final int MIN_RUNS = 4;

    /** A piece of kept output, as replay hands it out. */
    @FunctionalInterface
    public interface Sink {
        /** {@code data} (a fresh array) of {@code stream}, starting at output offset {@code offset}. */
        void piece(int stream, long offset, byte[] data);
    }

    private final long cap;
    /** Ring of chunks: chunk i (from {@link #chunkHead}) holds offsets from (firstChunk + i) * CHUNK. */
    private byte[][] chunks = new byte[0][];
    private int chunkHead;
    private int chunkCount;
    /** Offset / CHUNK of the first chunk held (meaningful while chunkCount > 0). */
    private long firstChunk;
    /** Bytes kept. */
    private int size;
    /** Output offset of the oldest byte kept (or, with none kept, of the next byte). */
    private long start;
    private long dropped;
    /** Ring of runs: offset << 1 | stream, oldest first. The first may start before {@link #start}. */
    private long[] runs = new long[MIN_RUNS];
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
     * What the ring is charged against the agent-wide total ({@link OutputRetention}): its chunks
     * whole, its runs at {@link #RUN_COST} and its tables, so at least both {@link #held} and
     * {@link #allocated}. Counted in bytes held alone, a ring of one byte cost a whole chunk the total
     * never saw: 16,000 such sessions allocated 63.5 MiB under a total that counted 1 MiB.
     */
    public long charge() {
        return (long) chunkCount * CHUNK + (long) RUN_COST * runCount + (long) Long.BYTES * (chunks.length + runs.length);
    }

    /** Bytes of the arrays the ring holds now: its chunks, its chunk table and its runs. */
    public long allocated() {
        return (long) chunkCount * CHUNK + (long) Long.BYTES * (chunks.length + runs.length);
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
        long at = end();
        if (chunkCount == 0) {
            firstChunk = at / CHUNK;
        }
        while (len > 0) {
            int index = (int) (at / CHUNK - firstChunk);
            if (index == chunkCount) {
                addChunk();
            }
            int pos = (int) (at % CHUNK);
            int n = Math.min(len, CHUNK - pos);
            System.arraycopy(src, off, chunk(index), pos, n);
            off += n;
            len -= n;
            at += n;
            size += n;
        }
        return held() - before;
    }

    /**
     * Drops at least {@code charge} of what the ring holds (or all of it), oldest bytes first.
     *
     * @return the charge freed (bytes and the runs that went with them)
     */
    public long dropOldest(long charge) {
        long before = held();
        // Run by run: the bytes up to the end of the oldest run free that run too, so a ring of
        // short runs gives up only as many as the charge needs.
        for (long freed = 0; size > 0 && freed < charge; freed = before - held()) {
            long oldestRunEnd = runCount > 1 ? runOffset(1) : end();
            dropBytes((int) Math.min(charge - freed, oldestRunEnd - start));
        }
        if (chunks.length > 4 && chunkCount <= chunks.length / 4) {
            chunks = chunkTable(shrunk(chunks.length, chunkCount, 4));
        }
        if (runs.length > MIN_RUNS && runCount <= runs.length / 4) {
            runs = runTable(shrunk(runs.length, runCount, MIN_RUNS));
        }
        return before - held();
    }

    /** Drops the {@code bytes} oldest bytes kept, the runs and chunks left with none. */
    private void dropBytes(int bytes) {
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
        // The chunks wholly before the oldest byte kept (all of them once nothing is kept) go.
        while (chunkCount > 0 && (size == 0 || (firstChunk + 1) * CHUNK <= start)) {
            chunks[chunkHead] = null;
            chunkHead = (chunkHead + 1) % chunks.length;
            chunkCount--;
            firstChunk++;
        }
        if (chunkCount == 0) {
            chunkHead = 0;
        }
    }

    /**
     * A table of {@code length} entries with {@code used} in use, halved while a quarter full or less
     * (at most half full after: growing doubles a full one, so the two never alternate).
     */
    private static int shrunk(int length, int used, int min) {
        while (length > min && used <= length / 4) {
            length /= 2;
        }
        return Math.max(min, length);
    }

    /** Gives back all memory: nothing is kept any more (the bytes count as dropped). */
    public long clear() {
        long freed = dropOldest(held());
        chunks = new byte[0][];
        runs = new long[MIN_RUNS];
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
        for (int done = 0; done < n; ) {
            long at = offset + done;
            int pos = (int) (at % CHUNK);
            int k = Math.min(n - done, CHUNK - pos);
            System.arraycopy(chunk((int) (at / CHUNK - firstChunk)), pos, out, done, k);
            done += k;
        }
        return out;
    }

    private byte[] chunk(int index) {
        return chunks[(chunkHead + index) % chunks.length];
    }

    private void addChunk() {
        if (chunkCount == chunks.length) {
            chunks = chunkTable(Math.max(4, chunks.length * 2));
        }
        chunks[(chunkHead + chunkCount) % chunks.length] = new byte[CHUNK];
        chunkCount++;
    }

    /** The chunk table moved into one of {@code length} entries, oldest first. */
    private byte[][] chunkTable(int length) {
        byte[][] table = new byte[length][];
        for (int i = 0; i < chunkCount; i++) {
            table[i] = chunk(i);
        }
        chunkHead = 0;
        return table;
    }

    /** The runs moved into an array of {@code length}, oldest first. */
    private long[] runTable(int length) {
        long[] table = new long[length];
        for (int i = 0; i < runCount; i++) {
            table[i] = runs[(runHead + i) % runs.length];
        }
        runHead = 0;
        return table;
    }

    private boolean continuesLastRun(int stream) {
        return runCount > 0 && (runs[(runHead + runCount - 1) % runs.length] & 1) == stream;
    }

    private long runOffset(int r) {
        return runs[(runHead + r) % runs.length] >>> 1;
    }

    private void addRun(long offset, int stream) {
        if (runCount == runs.length) {
            runs = runTable(runs.length * 2);
        }
        runs[(runHead + runCount) % runs.length] = offset << 1 | stream;
        runCount++;
    }
}
