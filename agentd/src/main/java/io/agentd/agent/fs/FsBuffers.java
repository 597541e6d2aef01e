package io.agentd.agent.fs;

import io.agentd.agent.loop.ByteBudget;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * Direct buffers of {@value #BYTES} bytes for Read and Write chunks, shared by every connection
 * (any thread). A chunk in a direct buffer goes to and from the file with no copy through the JDK's
 * temporary direct buffer, and reused buffers make no garbage, which under the serial GC grows
 * the heap and with it the RSS. A direct buffer dropped would be freed only by a GC, so at most
 * {@value #MADE} are ever made and all are kept; while every one is in use (many transfers at once),
 * a transfer gets heap buffers, garbage as before. A Write appends a host's small chunks to the
 * buffer it queued last while that has room ({@link FsWriteQueue}), so small frames share buffers
 * instead of holding one each.
 */
final class FsBuffers {
    static final int BYTES = 256 * 1024;
    /** Direct buffers made at most: a Write's window (16) and a Read's four, with room to spare. */
    private static final int MADE = 24;
    /**
     * The least room a Write's heap copy has (every direct buffer in use): later small chunks are
     * appended to it. A copy of exactly each chunk's size took no more, and a host sending 1-byte
     * chunks while the disk was busy made the agent hold an object of ~100 bytes per byte its
     * budget counted.
     */
    static final int HEAP_COPY_MIN_BYTES = 64 * 1024;
    /**
     * Roomy heap copies held at once ({@link #HEAP_COPY_MIN_BYTES} each: 8 MiB); past them, copies
     * have {@link #HEAP_COPY_PAST_ROOMY_BYTES} of room. Their spare room is not in any Write budget,
     * and many Writes of a byte or two each held 64 KiB apiece.
     */
    static final int ROOMY_COPIES_MAX = 128;
    /**
     * The least room of a heap copy made past the roomy ones: small chunks still share it (each at
     * its own size again, 1-byte chunks held ~100 bytes of heap per byte budgeted, past the heap
     * at a few MiB queued), and the room outside the budgets stays at about 2 KiB per Write (its last
     * copy, and one handed over before it was full): 32 MiB at the agent's 64 connections x 256
     * requests.
     */
    static final int HEAP_COPY_PAST_ROOMY_BYTES = 1024;

    /** Bytes of Read buffers all connections may hold at once, by default: 32 Reads reading ahead in full. */
    static final long READ_BUDGET_DEFAULT = 32L * 1024 * 1024;
    /**
     * One connection's Reads hold at most this part of the Read budget ({@link #readShare}): a host
     * that stops reading keeps its paused Reads' buffers, so with the whole budget open to it one such
     * host would make every other connection's Reads wait for it. A quarter (8 MiB, eight Reads
     * reading ahead in full, by default) is more than one connection's socket drains at once, and it
     * takes four stuck hosts together to use the budget up. Giving a paused Read's buffers back
     * instead would throw away and read again what it read ahead at every pause of a busy download,
     * and its digest (hashed as it reads) could not be wound back.
     */
    static final int READ_SHARES = 4;
    /**
     * Bytes of Write data all connections may make the agent hold at once, by default: what is queued
     * plus the credit granted and not used yet (two old hosts' full buffers, eight full windows).
     */
    static final long WRITE_BUDGET_DEFAULT = 32L * 1024 * 1024;

    /**
     * One connection's flow-controlled Writes hold at most this part of the Write budget
     * ({@link #writeShare}, {@link FsWriteShare}): a quarter, two full windows by default, so that it
     * takes four connections that hold credit and send nothing to use the budget up.
     */
    static final int WRITE_SHARES = 4;

    private final ArrayDeque<ByteBuffer> free = new ArrayDeque<>();
    private int made;
    /** The roomy heap copies not released yet (by identity: a ByteBuffer's equals compares content). */
    private final java.util.Set<ByteBuffer> roomyCopies =
            java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    private final ByteBudget reads;
    private final ByteBudget writes;

    FsBuffers() {
        this(READ_BUDGET_DEFAULT, WRITE_BUDGET_DEFAULT);
    }

    FsBuffers(long readBudget, long writeBudget) {
        this.reads = new ByteBudget(readBudget);
        this.writes = new ByteBudget(writeBudget);
    }

    /**
     * The budget of Read buffers: a Read takes its buffers when it runs, each within it and within
     * its connection's share ({@link FsReadShare}), and waits for them. Like {@link #writes}, used on
     * the loop thread only.
     */
    ByteBudget reads() {
        return reads;
    }

    /** Bytes of {@link #reads} one connection's Reads may hold together: {@value #READ_SHARES} connections' worth fill it. */
    long readShare() {
        return reads.limit() / READ_SHARES;
    }

    /**
     * The budget of Write data: a Write without window past it is refused (ENOBUFS); one with window
     * is granted no more credit than it has room for, and gets more when some comes back.
     */
    ByteBudget writes() {
        return writes;
    }

    /** Bytes of {@link #writes} one connection's windowed Writes may hold together. */
    long writeShare() {
        return writes.limit() / WRITE_SHARES;
    }

    /**
     * A cleared buffer of {@link #BYTES} limited to {@code size} (at most {@link #BYTES}), or, when
     * all are in use, a heap buffer of {@code size}.
     */
    ByteBuffer take(int size) {
        ByteBuffer b = pooled();
        return b == null ? ByteBuffer.allocate(size) : b.clear().limit(size);
    }

    /** A free buffer of {@link #BYTES}, one made if fewer than {@value #MADE} were, or null. */
    private synchronized ByteBuffer pooled() {
        ByteBuffer b = free.poll();
        if (b == null && made < MADE) {
            made++;
            b = ByteBuffer.allocateDirect(BYTES);
        }
        return b;
    }

    /** Takes back a buffer from {@link #take} or {@link #copyOf} no one uses any more; others are ignored. */
    synchronized void release(ByteBuffer b) {
        if (b.isDirect() && b.capacity() == BYTES) {
            free.push(b);
        } else {
            roomyCopies.remove(b);
        }
    }

    /**
     * The bytes of {@code data} in a buffer of the pool (position 0, limit their length, the rest of
     * its capacity free for more); when every buffer is in use, in a heap buffer with room for at
     * least {@link #HEAP_COPY_MIN_BYTES}; when they are larger than {@link #BYTES}, in a heap copy.
     */
    ByteBuffer copyOf(byte[] data) {
        if (data.length > BYTES) {
            return ByteBuffer.wrap(data.clone());
        }
        ByteBuffer b = pooled();
        if (b == null) {
            b = heapCopyRoomFor(data.length);
        }
        return b.clear().put(data).flip();
    }

    /** A heap buffer for {@code length} bytes: with room for more while few such are held ({@link #ROOMY_COPIES_MAX}). */
    private synchronized ByteBuffer heapCopyRoomFor(int length) {
        if (length >= HEAP_COPY_MIN_BYTES) {
            return ByteBuffer.allocate(length);
        }
        if (roomyCopies.size() >= ROOMY_COPIES_MAX) {
            return ByteBuffer.allocate(Math.max(length, HEAP_COPY_PAST_ROOMY_BYTES));
        }
        ByteBuffer roomy = ByteBuffer.allocate(HEAP_COPY_MIN_BYTES);
        roomyCopies.add(roomy);
        return roomy;
    }
}
