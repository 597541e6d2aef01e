package io.agentd.agent.fs;

import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;

/**
 * A Write: the host's core.fs.data chunks are copied into {@link FsBuffers} (direct, reused) in a
 * bounded queue on the loop ({@link FsWriteQueue}), handed to a worker ({@link FsWriteTurns}), and
 * written in order at {@code offset} onwards ({@link FsWriteWorker}) into the handle it checked at
 * its start ({@link FsWriteTarget}); the host's empty chunk ends it, and the count is checked
 * against {@code len}.
 *
 * <p>What the agent holds is bounded ({@link FsWriteCredit}). A host that asked for {@code window}
 * gets core.fs.credit; data past the credit fails the Write (ENOBUFS). A host without flow control
 * may have {@link FsSettings#writeBuffer()} queued; past it the Write fails (ENOBUFS). Both are also
 * bounded agent-wide by {@link FsBuffers#writes()}, and a chunk of a host without flow control that
 * finds no room there fails the Write (ENOBUFS).
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
final class FsWriteStream implements FsService.Active, FsWriteTurns.Reports {
    private final FsService service;
    private final long id;
    private final FsRequest request;
    private final FsOp.Write write;
    private final FsDigest digest;
    private final FsWriteQueue queue;
    private final FsWriteTurns turns;
    private final FsWriteCredit credit;
    /** The handle it writes to, once {@link #start} found it fit (loop thread). */
    private FsWriteTarget target;
    /** Bytes received and not written yet (queued, handed or being written). */
    private long queuedBytes;
    private long received;
    private long written;
    private boolean eof;
    /**
     * Why the Write takes no more data, or null while it does (loop thread): a chunk passed
     * {@code len} or the room the Write has, or a frame that may have been its chunk was refused or
     * skipped. Later data is dropped, and the Write fails once nothing more can reach the file,
     * with the exact count ({@link #maybeFinish}).
     */
    private Cut cut;
    /** Answered or aborted (loop thread); the worker was stopped first ({@link FsWriteTurns#stop}). */
    private boolean ended;

    FsWriteStream(FsService service, long id, FsRequest request, FsOp.Write write) {
        this.service = service;
        this.id = id;
        this.request = request;
        this.write = write;
        this.digest = request.extended() ? FsDigest.sha256() : null;
        this.queue = new FsWriteQueue(service.buffers());
        this.turns = new FsWriteTurns(service, request, write, digest, queue, this);
        this.credit = new FsWriteCredit(service, id, write.window(), this::budgetFreed);
    }

    /** Why a Write takes no more data, and the errno it fails with. */
    private record Cut(int errno, String why) {}

    /** Checks the handle, then grants the first credit (loop thread). */
    void start() {
        try {
            target = FsWriteTarget.of(service.handles(), id, write);
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
            credit.releaseUnused(queuedBytes);
            writeMore();
            maybeFinish();
            return;
        }
        received += data.length;
        if (write.len() != null && Long.compareUnsigned(received, write.len()) > 0) {
            cutAfterQueued(FsFailure.EINVAL, "more data than the len of " + Long.toUnsignedString(write.len()) + " bytes");
            return;
        }
        String noRoom = credit.admit(data.length, received, queuedBytes);
        if (noRoom != null) {
            cutNow(FsFailure.ENOBUFS, noRoom);
            return;
        }
        queue.add(data);
        queuedBytes += data.length;
        writeMore();
    }

    /** Hands the queued buffers on to the worker's turns, the last one kept while more data may come. */
    private void writeMore() {
        if (!ended) {
            turns.writeMore(target.file(), eof || cut != null);
        }
    }

    /** On the loop: a buffer is in the file. */
    @Override
    public void bufferWritten(int bytes) {
        if (!ended) {
            written += bytes;
            queuedBytes -= bytes;
            credit.release(bytes);
        }
    }

    /** On the loop, after buffers were counted: more credit. */
    @Override
    public void buffersCounted() {
        if (!ended) {
            topUpCredit();
        }
    }

    /** On the loop, after every buffer the turn reported: a failure, or hand more. */
    @Override
    public void turnEnded(FsFailure failure) {
        buffersCounted();
        if (ended) {
            queue.releaseHanded();
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
        if (!(eof || cut != null) || turns.mayStillWrite() || !queue.isEmpty() || ended) {
            return;
        }
        FsHandle.File file = target.file();
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
        credit.stopAwaitingBudget();
        target.leave();
        credit.releaseAll();
        service.finish(id, request, digest == null ? FsResponse.success(null)
                : new FsResponse(true, null, null, null, null, digest.hex()));
    }

    /** Tops the credit of a flow-controlled host up while the Write still takes data. */
    private void topUpCredit() {
        if (!eof && cut == null) {
            credit.topUp(queuedBytes, received);
        }
    }

    /** On the loop: the Write budget has room again. */
    private void budgetFreed() {
        if (credit.roomCame() && !ended) {
            topUpCredit();
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
        credit.releaseUnused(queuedBytes);
        credit.stopAwaitingBudget();
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
        turns.stop();
        credit.releaseUnused(queuedBytes);
        long dropped = queue.releaseAll();
        queuedBytes -= dropped;
        credit.release(dropped);
        credit.stopAwaitingBudget();
        maybeFinish();
    }

    /** Answers {@code failure}; none is writing here: a turn in flight has ended, or had nothing left to take. */
    private void fail(FsFailure failure) {
        stopUnanswered();
        if (!eof) {
            service.absorbRest(id);
        }
        service.finish(id, request, failure.response(request.extended()));
    }

    @Override
    public void abort() {
        stopUnanswered();
    }

    /**
     * The agent stops: cut as for no room (ENOBUFS), with ECANCELED: what is queued is dropped, and
     * the answer goes once the buffer being written, if any, is in the file, with the count it got
     * ("N bytes written at offset O, nothing after"). Its empty chunk come or not: the data still
     * queued would hold the agent's exit for as long as the disk takes it. A Write cut already
     * answers as that cut says.
     */
    @Override
    public void agentShuttingDown() {
        if (!ended && cut == null) {
            cutNow(FsFailure.ECANCELED, FsShutdownAnswers.WHY);
        }
    }

    /**
     * Ends the Write short of its answer: the worker stopped, everything the Write holds given back,
     * and the handle spoiled (an atomic upload then leaves its destination unchanged) and left.
     */
    private void stopUnanswered() {
        ended = true; // first: what the worker finished is only given back, no credit follows
        turns.stop();
        credit.stopAwaitingBudget();
        closeDigest();
        queue.releaseAll();
        queuedBytes = 0;
        credit.releaseAll();
        if (target != null) {
            target.spoilAndLeave();
        }
    }

    /** Frees the digest's native context (safe while a worker's batch still updates it). */
    private void closeDigest() {
        if (digest != null) {
            digest.close();
        }
    }
}
