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
 * A Write the host's data fails is cut ({@link #cut}). Past {@code len}, or after a frame that may
 * have been its chunk was refused or skipped, the chunks that came before are written first, so
 * that the file holds all of them. Past the room it has (ENOBUFS), what is queued is dropped at once
 * (its memory is what ran out), and the worker stops after the buffer it is writing. Either way
 * the answer goes once nothing more can reach the file, and counts exactly what it got. A Write
 * the disk or its handle fails is answered at once (no turn is running then).
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
    /**
     * Guards the worker's take of its next buffer against {@link #stopWorker}: once the loop has
     * stopped it, the worker takes none, and the loop knows whether one was being written then.
     */
    private final Object handOver = new Object();
    /** The worker takes no more buffers (guarded by {@link #handOver}). */
    private boolean stopped;
    /** The worker is writing a buffer it took (guarded by {@link #handOver}). */
    private boolean writingBuffer;
    /** {@link #stopped}, as the loop knows it (loop thread). */
    private boolean workerStopped;
    /** The worker was writing a buffer when it was stopped: the answer waits for its turn's end (loop thread). */
    private boolean lastBufferInFlight;
    private boolean eof;
    /**
     * Why the Write takes no more data, or null while it does (loop thread): a chunk passed
     * {@code len} or the room the Write has, or a frame that may have been its chunk was refused or
     * skipped. Later data is dropped, and the Write fails once nothing more can reach the file,
     * with the exact count ({@link #maybeFinish}).
     */
    private Cut cut;
    /** Answered or aborted (loop thread); the worker was stopped first ({@link #stopWorker}). */
    private boolean ended;
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
        this.share = service.writeShare(id);
        this.onBudgetRoom = () -> service.post(this::budgetFreed);
        this.writtenBuffers = new WorkerHandoff<>(service::post, this::chunkWritten, this::chunksWritten);
    }

    /** A buffer in the file, with the bytes it held. */
    private record Written(ByteBuffer chunk, int bytes) {}

    /** Why a Write takes no more data, and the errno it fails with. */
    private record Cut(int errno, String why) {}

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
            // Before the handle counts this Write in progress: refused after, it stayed counted, and
            // the handle's atomic upload was dropped at its close as if a Write were still running.
            FsPositions.check(write.offset(), 0, "write", f.path); // also for a Write of no data
            if (!f.writeStarted()) { // closed since the look-up
                throw new FsFailure(FsFailure.EBADF, "bad handle " + Long.toUnsignedString(write.handle())
                        + " (os error 9)");
            }
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
            cutAfterQueued(FsFailure.EINVAL, "more data than the len of " + Long.toUnsignedString(write.len()) + " bytes");
            return;
        }
        if (write.window() && received > granted) {
            cutNow(FsFailure.ENOBUFS, "data past the credit granted (" + granted + " bytes)");
            return;
        }
        if (queuedBytes + data.length > limit) {
            cutNow(FsFailure.ENOBUFS, "data came faster than it could be written (more than " + limit
                    + " bytes waiting; ask for window: true to be told how much to send)");
            return;
        }
        if (!write.window()) { // a flow-controlled Write's data was reserved with its credit
            if (!budget.tryReserve(data.length)) {
                cutNow(FsFailure.ENOBUFS, "the agent holds all the Write data it takes for all connections"
                        + " together (" + budget.limit() + " bytes); ask for window: true to be told how much to send");
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
        if (ended || workerStopped) {
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

    /**
     * On a worker: the handed buffers, each whole, in order, each reported to the loop when written,
     * until none is left or the loop stopped it ({@link #stopWorker}).
     */
    private Boolean writeHanded() throws FsFailure {
        for (int turn = 0; turn < BUFFERS_PER_TURN; turn++) {
            ByteBuffer chunk;
            synchronized (handOver) {
                chunk = stopped ? null : handed.poll();
                writingBuffer = chunk != null;
            }
            if (chunk == null) {
                break;
            }
            int n = chunk.remaining();
            try {
                writeChunk(chunk, write.offset() + writtenByWorker);
            } catch (FsFailure failure) {
                // writingBuffer stays set: part of this buffer may be in the file, and a loop that
                // cuts the Write before this turn's end is seen (ENOBUFS) must wait for it, whose
                // failure then answers with the count the file got and the disk's errno.
                buffers.release(chunk);
                throw failure;
            }
            writtenByWorker += n;
            writtenBuffers.hand(new Written(chunk, n)); // before the flag: a loop that sees it clear counts this one
            bufferDone();
        }
        return Boolean.TRUE;
    }

    /** On a worker: the buffer it took is written (or failed), and reported. */
    private void bufferDone() {
        synchronized (handOver) {
            writingBuffer = false;
        }
    }

    private void writeChunk(ByteBuffer chunk, long at) throws FsFailure {
        file.busy.lock();
        try {
            if (file.isClosed()) {
                throw new FsFailure(FsFailure.EBADF, "bad handle " + Long.toUnsignedString(write.handle()) + " (os error 9)");
            }
            file.checkOffset(write.offset(), "write");
            FsPositions.check(write.offset(), at - write.offset(), "write", file.path);
            long done = 0;
            try {
                if (digest != null) {
                    digest.update(chunk);
                }
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
                throw FsErrors.from(e, "write " + file.path + " (" + (writtenByWorker + done) + " bytes written)");
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
        lastBufferInFlight = false;
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
        boolean mayStillWrite = writing && (!workerStopped || lastBufferInFlight);
        if (!(eof || cut != null) || mayStillWrite || !queue.isEmpty() || !handed.isEmpty() || ended) {
            return;
        }
        if (cut != null) {
            fail(new FsFailure(cut.errno(), "write " + file.path + ": " + cut.why() + "; " + written
                    + " bytes written at offset " + Long.toUnsignedString(write.offset()) + ", nothing after (os error "
                    + cut.errno() + ")"));
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
        cutAfterQueued(FsFailure.EINVAL, why);
        return true;
    }

    /**
     * Takes no more data: the chunks that came before are still written (they are what the host
     * sent, in order), and the Write fails with {@code errno} once they are, saying {@code why} and
     * how many bytes the file got ({@link #maybeFinish}).
     */
    private void cutAfterQueued(int errno, String why) {
        cut = new Cut(errno, why);
        unreserve(reserved - queuedBytes); // the credit not used
        stopAwaitingBudget();
        writeMore();
        maybeFinish();
    }

    /**
     * Takes no more data and drops what is queued (ENOBUFS: the room it had is what ran out): the
     * worker is stopped, the buffers it had not taken given back at once, and the Write fails with
     * {@code errno} once the buffer it was writing, if any, is in the file ({@link #maybeFinish}).
     */
    private void cutNow(int errno, String why) {
        cut = new Cut(errno, why);
        stopWorker();
        unreserve(reserved - queuedBytes); // the credit not used
        long dropped = releaseQueued();
        queuedBytes -= dropped;
        unreserve(dropped);
        stopAwaitingBudget();
        maybeFinish();
    }

    /**
     * The worker takes no more buffers of this Write; what it finished is counted now. When it was
     * writing one, {@link #lastBufferInFlight}: the answer waits for the end of its turn.
     */
    private void stopWorker() {
        synchronized (handOver) {
            stopped = true;
            lastBufferInFlight = writingBuffer;
        }
        workerStopped = true;
        writtenBuffers.takeAll();
    }

    private void fail(FsFailure failure) {
        ended = true; // first: what the worker finished is only given back, no credit follows
        stopWorker(); // none is writing here: a turn in flight has ended, or had nothing left to take
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
        stopWorker();
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

    /**
     * Gives back the buffers no worker holds: the loop's queue, and what was handed (the worker
     * takes none once stopped). Returns the bytes they held.
     */
    private long releaseQueued() {
        long bytes = 0;
        for (ByteBuffer b : queue) {
            bytes += b.remaining();
            buffers.release(b);
        }
        queue.clear();
        return bytes + releaseHanded();
    }

    private long releaseHanded() {
        long bytes = 0;
        for (ByteBuffer b; (b = handed.poll()) != null; ) {
            bytes += b.remaining();
            buffers.release(b);
        }
        return bytes;
    }

    /** Frees the digest's native context (safe while a worker's batch still updates it). */
    private void closeDigest() {
        if (digest != null) {
            digest.close();
        }
    }
}
