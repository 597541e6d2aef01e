package io.agentd.agent.fs;

import io.agentd.agent.loop.ByteBudget;
import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecStdinCredit;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayDeque;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * A Write: the host's core.fs.data chunks are copied into {@link FsBuffers} (direct, reused) in a
 * bounded queue on the loop, handed to a worker, and written in order at {@code offset} onwards; the
 * host's empty chunk ends it, and the count is checked against {@code len}. The worker writes every
 * buffer handed to it and reports each to the loop as it goes, without a trip through the loop
 * between buffers (a hand-over per batch left both cores idle much of the time: BENCHMARKS.md, "fs
 * read-ahead"); it stops when nothing is handed, or after {@value #BUFFERS_PER_TURN} buffers, so
 * other requests get the worker in turn.
 *
 * <p>What the agent holds is bounded. A host that asked for {@code window} gets core.fs.credit: the
 * first grant is {@link FsSettings#writeWindow()}, and as buffers are written the credit is topped
 * up again (once what is queued plus what the host may still send falls to half the window), the
 * scheme of core.exec.stdin.credit; data past the credit fails the Write (ENOBUFS). A host without
 * flow control may have {@link FsSettings#writeBuffer()} queued; past it the Write fails (ENOBUFS).
 * Both are also bounded agent-wide by {@link FsBuffers#writes()}: credit is granted only within it
 * and within the connection's share of it ({@link FsWriteShare}; a Write with none waits for room),
 * and a chunk of a host without flow control that finds no room fails the Write (ENOBUFS).
 * A failed Write is answered at once, except one cut ({@link #cut}: its data passed {@code len},
 * or a frame that may have been its chunk was refused or skipped): the chunks that came before are
 * written first, so that the file holds all of them and the answer counts exactly what it got.
 * Nothing after the refused chunk is written (what the file holds is a prefix of what was sent,
 * never a file with holes), the handle is spoiled (an atomic upload then leaves its destination
 * unchanged), and the rest of the host's data is dropped.
 */
final class FsWriteStream implements FsService.Active {
    /** Buffers one worker turn writes at most before it goes back behind other requests' tasks. */
    private static final int BUFFERS_PER_TURN = 16;

    private final FsService service;
    private final long id;
    private final FsRequest request;
    private final FsOp.Write write;
    private final long limit;
    private final FsDigest digest;
    /** Chunks on the loop, not handed yet; the last may take more small chunks ({@link #appendToLast}). */
    private final ArrayDeque<ByteBuffer> queue = new ArrayDeque<>();
    /** Buffers handed to the worker, written in this order; the loop adds, the worker takes. */
    private final ConcurrentLinkedQueue<ByteBuffer> handed = new ConcurrentLinkedQueue<>();
    /** Buffers the worker wrote, to the loop in order, to be given back and counted. */
    private final WorkerHandoff<Written> writtenBuffers;
    private final FsBuffers buffers;
    /** The agent-wide budget of Write data ({@link FsBuffers#writes()}): a Write without window reserves its data here. */
    private final ByteBudget budget;
    /** Its connection's share of {@link #budget}: a windowed Write reserves its credit here ({@link FsWriteShare}). */
    private final FsWriteShare share;
    /** What the budget runs when room comes back while this Write waits for credit: the same object to cancel. */
    private final Runnable onBudgetRoom;
    /**
     * Bytes of {@link #budget} this Write holds (loop thread): what is queued, plus the credit granted
     * and not used yet; given back as buffers are written, and all of it when the Write ends.
     */
    private long reserved;
    /** On the budget's waiting list for more credit (loop thread). */
    private boolean awaitingBudget;
    private FsHandle.File file;
    /** Bytes received and not written yet (queued, handed or being written). */
    private long queuedBytes;
    private long received;
    private long written;
    /** Bytes the worker has written: where its next buffer goes, from the Write's offset. Worker only. */
    private long writtenByWorker;
    private long granted;
    /** A worker turn is running (loop thread): set when started, cleared when its outcome comes back. */
    private boolean writing;
    private boolean eof;
    /**
     * Why the Write takes no more data, or null while it does (loop thread): a chunk passed
     * {@code len}, or a frame that may have been its chunk was refused or skipped. Later data is
     * dropped, the chunks before are still written, and the Write fails once they are, with the
     * exact count.
     */
    private String cut;
    /** Answered or aborted: the worker stops after its current buffer, nothing more is written. */
    private volatile boolean ended;
    /** {@link #leaveHandle} ran (loop thread). */
    private boolean leftHandle;

    FsWriteStream(FsService service, long id, FsRequest request, FsOp.Write write) {
        this.service = service;
        this.id = id;
        this.request = request;
        this.write = write;
        this.limit = write.window() ? service.settings().writeWindow() : service.settings().writeBuffer();
        this.digest = request.extended() ? FsDigest.sha256() : null;
        this.buffers = service.buffers();
        this.budget = buffers.writes();
        this.share = service.writeShare();
        this.onBudgetRoom = () -> service.post(this::budgetFreed);
        this.writtenBuffers = new WorkerHandoff<>(service::post, this::chunkWritten, this::chunksWritten);
    }

    /** A buffer in the file, with the bytes it held. */
    private record Written(ByteBuffer chunk, int bytes) {}

    /** Checks the handle, then grants the first credit (loop thread). */
    void start() {
        try {
            FsHandle h = service.handles().get(write.handle(), id);
            if (!(h instanceof FsHandle.File f)) {
                throw FsFailure.of(FsFailure.EISDIR, "write on handle " + Long.toUnsignedString(write.handle())
                        + " (" + h.path + ")");
            }
            if (!f.writable) {
                throw new FsFailure(FsFailure.EBADF, "write " + f.path
                        + ": the handle was not opened for writing (os error 9)");
            }
            if (!f.writeStarted()) { // closed since the look-up
                throw new FsFailure(FsFailure.EBADF, "bad handle " + Long.toUnsignedString(write.handle())
                        + " (os error 9)");
            }
            FsPositions.check(write.offset(), 0, "write", f.path); // also for a Write of no data
            file = f;
        } catch (FsFailure refused) {
            fail(refused);
            return;
        }
        topUpCredit();
    }

    /** Its empty chunk came: any later core.fs.data on its id is not its own. */
    boolean tookItsLastChunk() {
        return eof;
    }

    void onData(byte[] data) {
        if (ended) {
            return;
        }
        if (cut != null) { // dropped; the empty chunk still marks the end of the host's data
            eof |= data.length == 0;
            return;
        }
        if (data.length == 0) {
            eof = true;
            unreserve(reserved - queuedBytes); // the credit not used
            writeMore();
            maybeFinish();
            return;
        }
        received += data.length;
        if (write.len() != null && Long.compareUnsigned(received, write.len()) > 0) {
            cutAfterQueued("more data than the len of " + Long.toUnsignedString(write.len()) + " bytes");
            return;
        }
        if (write.window() && received > granted) {
            fail(new FsFailure(FsFailure.ENOBUFS, "write " + file.path + ": data past the credit granted ("
                    + granted + " bytes); " + written + " bytes written, nothing after (os error 105)"));
            return;
        }
        if (queuedBytes + data.length > limit) {
            fail(new FsFailure(FsFailure.ENOBUFS, "write " + file.path + ": data came faster than it could be"
                    + " written (more than " + limit + " bytes waiting; ask for window: true to be told how much"
                    + " to send); " + written + " bytes written, nothing after (os error 105)"));
            return;
        }
        if (!write.window()) { // a flow-controlled Write's data was reserved with its credit
            if (!budget.tryReserve(data.length)) {
                fail(new FsFailure(FsFailure.ENOBUFS, "write " + file.path + ": the agent holds all the Write data it"
                        + " takes for all connections together (" + budget.limit() + " bytes); ask for window: true"
                        + " to be told how much to send; " + written + " bytes written, nothing after (os error 105)"));
                return;
            }
            reserved += data.length;
        }
        // The decoder reuses a data frame's array once it was handled: keep a copy.
        if (!appendToLast(data)) {
            queue.add(buffers.copyOf(data));
        }
        queuedBytes += data.length;
        writeMore();
    }

    /**
     * Copies {@code data} after the bytes of the last queued buffer when it has room: agentctl sends
     * 64 KiB frames, and four to a pooled buffer keep them direct (no copy through the JDK's
     * temporary buffer, none for the digest) without a queue holding a 256 KiB buffer per frame.
     * A buffer handed to a worker has left the queue, so only the loop touches this one.
     */
    private boolean appendToLast(byte[] data) {
        ByteBuffer last = queue.peekLast();
        if (last == null || last.capacity() - last.limit() < data.length) {
            return false;
        }
        int end = last.limit();
        last.limit(end + data.length).position(end);
        last.put(data).position(0);
        return true;
    }

    /**
     * Hands the queued buffers to the worker and starts a turn unless one is running. While a turn
     * runs, the last buffer stays on the loop until it is full, to take the host's next small chunks.
     */
    private void writeMore() {
        if (ended) {
            return;
        }
        boolean noMoreData = eof || cut != null;
        while (queue.size() > 1 || (!queue.isEmpty() && (!writing || noMoreData || isFull(queue.peekLast())))) {
            handed.add(queue.poll());
        }
        if (!writing && !handed.isEmpty()) {
            writing = true;
            service.work(request, this::writeHanded, this::turnEnded);
        }
    }

    private static boolean isFull(ByteBuffer b) {
        return b.limit() == b.capacity();
    }

    /** On a worker: the handed buffers, each whole, in order, each reported to the loop when written. */
    private Boolean writeHanded() throws FsFailure {
        for (int turn = 0; turn < BUFFERS_PER_TURN && !ended; turn++) {
            ByteBuffer chunk = handed.poll();
            if (chunk == null) {
                break;
            }
            int n = chunk.remaining();
            try {
                writeChunk(chunk, write.offset() + writtenByWorker);
            } catch (FsFailure failure) {
                buffers.release(chunk);
                throw failure;
            }
            writtenByWorker += n;
            writtenBuffers.hand(new Written(chunk, n));
        }
        return Boolean.TRUE;
    }

    private void writeChunk(ByteBuffer chunk, long at) throws FsFailure {
        file.busy.lock();
        try {
            if (file.isClosed()) {
                throw new FsFailure(FsFailure.EBADF, "bad handle " + Long.toUnsignedString(write.handle()) + " (os error 9)");
            }
            file.checkOffset(write.offset(), "write");
            FsPositions.check(write.offset(), at - write.offset(), "write", file.path);
            try {
                if (digest != null) {
                    digest.update(chunk);
                }
                long done = 0;
                while (chunk.hasRemaining()) {
                    int n = file.write(chunk, at + done);
                    if (n == 0) { // EAGAIN on the O_NONBLOCK descriptor (WaitFreeFiles)
                        throw WaitFreeFiles.writeWouldWait("write " + file.path + " (" + (writtenByWorker + done)
                                + " bytes written)");
                    }
                    done += n;
                }
            } catch (ClosedChannelException e) {
                // CloseHandle or the connection's end closed the handle, which ended this I/O.
                throw new FsFailure(FsFailure.EBADF, "write " + file.path + ": the handle was closed (os error 9)");
            } catch (IOException e) {
                throw FsErrors.from(e, "write " + file.path + " (" + writtenByWorker + " bytes written)");
            } catch (RuntimeException e) {
                throw FsErrors.from(e, "write " + file.path);
            }
        } finally {
            file.busy.unlock();
        }
    }

    /** On the loop: a buffer is in the file. */
    private void chunkWritten(Written w) {
        buffers.release(w.chunk());
        if (!ended) {
            written += w.bytes();
            queuedBytes -= w.bytes();
            unreserve(w.bytes());
        }
    }

    /** On the loop, after buffers were counted: more credit. */
    private void chunksWritten() {
        if (!ended) {
            topUpCredit();
        }
    }

    /** On the loop, after every buffer the turn reported: a failure, or hand more. */
    private void turnEnded(Boolean ignored, FsFailure failure) {
        writing = false;
        writtenBuffers.takeAll(); // the turn's last buffers, should their take not have run yet
        chunksWritten();
        if (ended) {
            releaseHanded();
            return;
        }
        if (failure != null) {
            fail(failure);
            return;
        }
        writeMore();
        maybeFinish();
    }

    private void maybeFinish() {
        if (!(eof || cut != null) || writing || !queue.isEmpty() || !handed.isEmpty() || ended) {
            return;
        }
        if (cut != null) {
            fail(new FsFailure(FsFailure.EINVAL, "write " + file.path + ": " + cut + "; " + written
                    + " bytes written at offset " + Long.toUnsignedString(write.offset()) + ", nothing after (os error 22)"));
            return;
        }
        if (write.len() != null && written != write.len()) {
            fail(new FsFailure(FsFailure.EINVAL, "write " + file.path + ": " + written + " bytes came, the len was "
                    + Long.toUnsignedString(write.len()) + " (os error 22)"));
            return;
        }
        if (file.isClosed()) {
            // CloseHandle came while this Write was in progress: it ended the Write (and dropped an
            // atomic upload, whose temporary file held these bytes), as a cut I/O would.
            fail(new FsFailure(FsFailure.EBADF, "write " + file.path + ": the handle was closed before the Write"
                    + " ended; " + written + " bytes written (os error 9)"));
            return;
        }
        ended = true;
        stopAwaitingBudget();
        leaveHandle();
        unreserve(reserved);
        service.finish(id, request, digest == null ? FsResponse.success(null)
                : new FsResponse(true, null, null, null, null, digest.hex()));
    }

    /** Keeps what is queued plus what the host may still send at the window (flow-controlled hosts). */
    private void topUpCredit() {
        if (!write.window() || eof || cut != null) {
            return;
        }
        long outstanding = granted - received;
        long held = queuedBytes + outstanding;
        if (held <= limit / 2 && !awaitingBudget) {
            // Within the agent-wide budget: no room, no credit until some comes back.
            long grant = share.reserveUpTo(limit - held);
            if (grant == 0) {
                share.await(onBudgetRoom);
                awaitingBudget = true;
                return;
            }
            reserved += grant;
            granted += grant;
            service.out().send(new Frame(id, MessageType.FS_CREDIT, new ExecStdinCredit(grant)));
        }
    }

    /** On the loop: the Write budget has room again. */
    private void budgetFreed() {
        if (!awaitingBudget) {
            return; // the wait's other list woke it too, or it ended meanwhile
        }
        stopAwaitingBudget();
        if (!ended) {
            topUpCredit();
        }
    }

    /**
     * Off the budgets' waiting lists. Every end of the Write does this: a Write that ended while it
     * waited stayed on them (with this stream and its connection's service) until some room came
     * back, and a host could end windowed Writes in a loop while the budget was full.
     */
    private void stopAwaitingBudget() {
        if (awaitingBudget) {
            awaitingBudget = false;
            share.cancel(onBudgetRoom);
        }
    }

    /** Gives {@code bytes} of this Write's reservation back to the agent-wide budget (loop thread). */
    private void unreserve(long bytes) {
        if (bytes > 0) {
            reserved -= bytes;
            if (write.window()) {
                share.release(bytes);
            } else {
                budget.release(bytes);
            }
        }
    }

    /**
     * A frame on this Write's id that is not its next chunk: another fs request (the data from now
     * on could be either's), or a frame the codec refused (a chunk lost from the middle would leave
     * the file with a hole). The Write is cut: what came before is written, then it fails (EINVAL)
     * with nothing more written, and its later data is dropped to its empty chunk.
     *
     * @param what what came, for the answer ("another fs request", "a core.fs.data the agent refused")
     * @return whether it failed (not after its empty chunk: it has all its data, and finishes as it
     *         is; nor when it was failed or cut already)
     */
    boolean failOnForeignFrame(String what) {
        return failMidStream(what + " came on id " + id + " while this Write was in progress, so its data can no"
                + " longer be followed");
    }

    /**
     * The link skipped a frame of this host's unread (its length could not be trusted), and its id
     * is unknown: it may have been a chunk of this Write. Fails as {@link #failOnForeignFrame} does.
     */
    boolean failOnSkippedFrame() {
        return failMidStream("the agent skipped a frame of this host's it could not read (its length was"
                + " refused), which may have been this Write's data");
    }

    private boolean failMidStream(String why) {
        if (ended || eof || cut != null) {
            return false;
        }
        cutAfterQueued(why);
        return true;
    }

    /**
     * Takes no more data: the chunks that came before are still written (they are what the host
     * sent, in order), and the Write fails once they are, saying {@code why} and how many bytes the
     * file got ({@link #maybeFinish}).
     */
    private void cutAfterQueued(String why) {
        cut = why;
        unreserve(reserved - queuedBytes); // the credit not used
        stopAwaitingBudget();
        writeMore();
        maybeFinish();
    }

    private void fail(FsFailure failure) {
        ended = true;
        stopAwaitingBudget();
        closeDigest();
        releaseQueued();
        queuedBytes = 0;
        unreserve(reserved);
        if (file != null) {
            file.spoil();
        }
        leaveHandle();
        if (!eof) {
            service.absorbRest(id);
        }
        service.finish(id, request, failure.response(request.extended()));
    }

    @Override
    public void abort() {
        ended = true;
        stopAwaitingBudget();
        closeDigest();
        releaseQueued();
        unreserve(reserved);
        if (file != null) {
            file.spoil();
        }
        leaveHandle();
    }

    /**
     * The Write is over (loop thread, once): the handle no longer counts it in progress. After a
     * failure the handle is spoiled first, so a CloseHandle that no longer sees the Write sees that.
     */
    private void leaveHandle() {
        if (file != null && !leftHandle) {
            leftHandle = true;
            file.writeEnded();
        }
    }

    /** Gives back the buffers no worker holds: the loop's queue, and what was handed unless a turn runs. */
    private void releaseQueued() {
        queue.forEach(buffers::release);
        queue.clear();
        if (!writing) {
            releaseHanded();
        }
    }

    private void releaseHanded() {
        for (ByteBuffer b; (b = handed.poll()) != null; ) {
            buffers.release(b);
        }
    }

    /** Frees the digest's native context (safe while a worker's batch still updates it). */
    private void closeDigest() {
        if (digest != null) {
            digest.close();
        }
    }
}
