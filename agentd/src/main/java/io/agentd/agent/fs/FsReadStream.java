package io.agentd.agent.fs;

import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayDeque;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * A Read: core.fs.data chunks of at most {@link FsSettings#chunkBytes()} on the request's id, then
 * the response. A worker reads ahead into {@value #BUFFERS} buffers (direct ones from
 * {@link FsBuffers}, given back when the Read ends, unless the chunks are larger), posting each chunk
 * to the loop as it is read and going on with the next free buffer without waiting for the loop;
 * the loop queues chunks on the connection (a copy) while its output is below the high-water mark
 * and gives their buffers back for the worker to fill again. A read-and-hash on one thread and a
 * hand-over to another per chunk left both cores idle much of the time (BENCHMARKS.md, "fs
 * read-ahead"). Above the high-water mark the chunks read wait in their buffers and the worker
 * stops; a worker turn also ends when no buffer is free or after {@value #CHUNKS_PER_TURN} chunks
 * (other requests get the worker in turn). So a file of any size costs {@value #BUFFERS} chunks of
 * memory and never floods the queue.
 */
final class FsReadStream implements FsService.Active, FsReadShare.Waiter {
    /** Buffers a Read reads ahead into. */
    private static final int BUFFERS = 4;
    /** Chunks one worker turn reads at most before it goes back behind other requests' tasks. */
    private static final int CHUNKS_PER_TURN = 16;

    final long id;
    private final FsService service;
    /** Its owner's share of the agent's Read buffers (taken at its start: the owner does not change). */
    private final FsReadShare share;
    private final FsRequest request;
    private final FsOp.Read read;
    /** Most bytes this Read sends: its len, read as the u64 it is on the wire; Long.MAX_VALUE is "to the end". */
    private final long len;
    /** Every buffer of this Read, for {@link #releaseBuffers}. */
    private final ByteBuffer[] buffers = new ByteBuffer[BUFFERS];
    /** Buffers the worker may read into: it takes them, the loop gives them back once queued. */
    private final ConcurrentLinkedQueue<ByteBuffer> free = new ConcurrentLinkedQueue<>();
    /** Most bytes one chunk holds. */
    private final int chunk;
    /** Its buffers come from the direct pool (bulk) or the heap (small Reads, larger chunks). */
    private final boolean bulk;
    /** Buffers this Read reads ahead into when the budget has room: 1 for a Read of one chunk, else {@value #BUFFERS}. */
    private final int wanted;
    /** Buffers taken so far (loop thread), each {@link #chunk} bytes of its connection's share of the budget. */
    private int held;
    /** On its connection's list of Reads waiting for buffers ({@link FsReadShare}), loop thread. */
    private boolean waitingForBuffers;
    private final FsDigest digest;
    /** Bytes read so far: where the next chunk starts, from the Read's offset. Worker only (one at a time). */
    private long readSoFar;
    /** Chunks the worker read, to the loop in order. */
    private final WorkerHandoff<ByteBuffer> arrived;
    /** Chunks read, in order, waiting for the output to go below its high-water mark (loop). */
    private final ArrayDeque<ByteBuffer> ready = new ArrayDeque<>();
    /** The worker stops after its current chunk: the output is above its high-water mark. */
    private volatile boolean holdBack;
    private volatile boolean aborted;
    /** A worker turn is running (loop thread): set when started, cleared when its outcome comes back. */
    private boolean reading;
    /** The end of the file or a failure came back: the answer, sent after the chunks still ready. */
    private FsResponse end;
    /** The answer was sent: a late resume (the Read may still be on the paused list) does nothing. */
    private boolean finished;
    /** Bytes queued to the host so far (loop thread), for an answer that stops it short. */
    private long sent;

    FsReadStream(FsService service, long id, FsRequest request, FsOp.Read read) {
        this.service = service;
        this.id = id;
        this.request = request;
        this.read = read;
        this.len = lenOf(read);
        long want = len;
        int size = (int) Math.min(service.settings().chunkBytes(), Math.max(want, 1));
        this.chunk = size;
        // A small Read needs one buffer of its size; the pool's buffers are for bulk.
        this.bulk = size > FsBuffers.BYTES / 4 && size <= FsBuffers.BYTES;
        this.wanted = want <= size ? 1 : BUFFERS;
        // The buffers are taken when the Read first runs, within its connection's share (takeBuffers).
        this.digest = request.extended() ? FsDigest.sha256() : null;
        this.arrived = new WorkerHandoff<>(service::post, this::chunkArrived, this::chunksArrived);
        this.share = service.readShare(id);
    }

    /**
     * A len of 2^63 or more (a negative long) is more than any file holds (the kernel's offsets stop
     * at 2^63-1): the same as null, to the end, like 2^64-1 which hosts send for "all".
     */
    private static long lenOf(FsOp.Read read) {
        return read.len() == null || read.len() < 0 ? Long.MAX_VALUE : read.len();
    }

    /** Starts the Read, or goes on after a pause: sends what is ready, reads more (loop thread). */
    void next() {
        if (aborted || finished) {
            return;
        }
        holdBack = false;
        sendReady();
    }

    /**
     * On a worker: chunks into free buffers, each posted to the loop as it is read, until there is
     * no free buffer, the turn's chunks are read, the loop holds back, or the file ends (true).
     */
    private Boolean readAhead() throws FsFailure {
        for (int turn = 0; turn < CHUNKS_PER_TURN && !holdBack && !aborted; turn++) {
            ByteBuffer buffer = free.poll();
            if (buffer == null) {
                return false;
            }
            int n = readChunk(buffer, readSoFar);
            if (n <= 0) {
                free.add(buffer);
                return true;
            }
            readSoFar += n;
            arrived.hand(buffer);
            if (readSoFar >= len) {
                return true; // all asked for: no turn only to find the end
            }
        }
        return false;
    }

    /** On a worker: up to one buffer from {@code at} (bytes into the Read); -1 at the end. */
    private int readChunk(ByteBuffer buffer, long at) throws FsFailure {
        FsHandle h = service.handles().get(read.handle(), id);
        if (!(h instanceof FsHandle.File file)) {
            throw FsFailure.of(FsFailure.EISDIR, "read on handle " + Long.toUnsignedString(read.handle())
                    + " (" + h.path + ")");
        }
        long left = len - at;
        if (left <= 0) {
            FsPositions.check(read.offset(), at, "read", h.path); // a Read of nothing still names a file offset
            return -1;
        }
        int want = (int) Math.min(chunk, left);
        file.busy.lock();
        try {
            if (file.isClosed()) {
                throw new FsFailure(FsFailure.EBADF, "bad handle " + Long.toUnsignedString(read.handle()) + " (os error 9)");
            }
            if (!file.readable) {
                throw new FsFailure(FsFailure.EBADF, "read " + file.path + ": the handle was not opened for reading (os error 9)");
            }
            try {
                if (at == 0) {
                    file.checkOffset(read.offset(), "read");
                }
                FsPositions.check(read.offset(), at, "read", file.path);
                int n = file.read(buffer.clear().limit(want), read.offset() + at);
                if (n == 0) { // EAGAIN on the O_NONBLOCK descriptor: the end of a file is -1
                    throw WaitFreeFiles.wouldWait("read " + file.path);
                }
                buffer.flip();
                if (n > 0 && digest != null) {
                    digest.update(buffer);
                }
                return n;
            } catch (ClosedChannelException e) {
                // CloseHandle or the connection's end closed the handle, which ended this I/O.
                throw new FsFailure(FsFailure.EBADF, "read " + file.path + ": the handle was closed (os error 9)");
            } catch (IOException e) {
                throw FsErrors.from(e, "read " + file.path);
            } catch (RuntimeException e) {
                throw FsErrors.from(e, "read " + file.path);
            }
        } finally {
            file.busy.unlock();
        }
    }

    /** On the loop: a chunk the worker read, sent in its turn. */
    private void chunkArrived(ByteBuffer chunk) {
        if (!aborted) { // else the buffers go back to the pool when the turn's outcome comes
            ready.add(chunk);
        }
    }

    private void chunksArrived() {
        if (!aborted) {
            sendReady();
        }
    }

    /**
     * Queues the ready chunks (a copy each) while the output takes more, giving their buffers back;
     * then the answer once the end came, or another worker turn. Above the high-water mark, or while
     * the relay holds its id, the Read pauses until {@link FsService#onOutputResumed} calls {@link #next}.
     */
    private void sendReady() {
        while (!ready.isEmpty() && service.outputWaits().takesOutputOf(id)) {
            ByteBuffer chunk = ready.poll();
            sent += chunk.remaining();
            service.out().sendData(id, MessageType.FS_DATA, chunk);
            free.add(chunk);
        }
        if (!ready.isEmpty()) {
            if (!holdBack) {
                holdBack = true;
                service.outputWaits().pause(this);
            }
            return;
        }
        if (end != null) {
            if (!reading && !finished) {
                finished = true;
                releaseBuffers();
                service.finish(id, request, end);
            }
            return;
        }
        if (!reading && !holdBack && held == 0 && !takeBuffers()) {
            return; // no room: granted() runs next() when some comes back
        }
        if (!reading && !holdBack && !free.isEmpty()) {
            reading = true;
            service.work(request, this::readAhead, this::turnEnded);
        }
    }

    /**
     * Takes up to {@link #wanted} buffers, as many as its connection's share of the agent-wide budget
     * allows (loop thread); false, with this Read waiting for {@link #granted}, when not even one
     * fits. A Read that holds one goes on and gives it back at its end (or its connection's), so a
     * waiting Read is not left for good.
     */
    private boolean takeBuffers() {
        if (waitingForBuffers) {
            return false;
        }
        int taken = share.take(this);
        if (taken == 0) {
            waitingForBuffers = true;
            return false;
        }
        addBuffers(taken);
        return true;
    }

    /** Its share reserved {@code count} buffers for it while it waited: it goes on from the loop's queue. */
    @Override
    public void granted(int count) {
        waitingForBuffers = false;
        addBuffers(count);
        service.post(this::next); // not now: a release of another Read's buffers is what called this
    }

    private void addBuffers(int count) {
        FsBuffers pool = service.buffers();
        for (int i = 0; i < count; i++) {
            buffers[held] = bulk ? pool.take(chunk) : ByteBuffer.allocate(chunk);
            free.add(buffers[held]);
            held++;
        }
    }

    @Override
    public int chunk() {
        return chunk;
    }

    @Override
    public int wanted() {
        return wanted;
    }

    /** On the loop, after every chunk the turn posted: the end, a failure, or another turn. */
    private void turnEnded(Boolean atEnd, FsFailure failure) {
        reading = false;
        arrived.takeAll(); // the turn's last chunks, should their take not have run yet
        if (aborted) {
            releaseBuffers();
            return;
        }
        if (failure != null) {
            end = failure.response(request.extended());
        } else if (atEnd) {
            end = digest == null ? FsResponse.success(null) : new FsResponse(true, null, null, null, null, digest.hex());
        }
        sendReady();
    }

    /**
     * The agent stops: ECANCELED now, after the chunks already queued, saying how many bytes those
     * were; the chunks read and not queued are dropped (the output may be above its mark, or the id
     * held, and the agent's exit waits for no host). The worker's turn, if one runs, ends as for
     * {@link #abort}.
     */
    @Override
    public void agentShuttingDown() {
        if (finished) {
            return;
        }
        finished = true;
        abort();
        service.finish(id, request, FsShutdownAnswers.read(read, sent).response(request.extended()));
    }

    @Override
    public void abort() {
        aborted = true;
        if (waitingForBuffers) {
            waitingForBuffers = false;
            share.cancel(this);
        }
        if (!reading) { // else when the running turn's outcome comes back
            releaseBuffers();
        }
    }

    /**
     * Gives the buffers back (no read is running, and a chunk sent was copied when it was queued),
     * and frees the digest's native context unless {@link FsDigest#hex} did.
     */
    private void releaseBuffers() {
        if (digest != null) {
            digest.close();
        }
        for (int i = 0; i < BUFFERS; i++) {
            if (buffers[i] != null) {
                service.buffers().release(buffers[i]);
                buffers[i] = null;
            }
        }
        if (held > 0) {
            int bytes = held * chunk;
            held = 0;
            share.release(bytes);
        }
    }
}
