package io.agentd.agent.fs;

import io.agentd.agent.spawn.UserDb;
import io.agentd.agent.transport.HostOutput;
import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.Frame;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.function.BooleanSupplier;
import java.util.function.LongPredicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fs family for one owner (a host connection): every core.fs.request runs on {@link FsWorkers},
 * its answer is posted back to the loop and sent through the connection's {@link HostOutput}, with
 * its backpressure (a Read sends its next chunk only while the output is below its high-water
 * mark). The owner's handles ({@link FsHandles}) close when it leaves, or, behind a relay, when the
 * client that opened them does ({@link #onIdRangeGone}). Loop thread only, except where noted.
 *
 * <p>What it counts and holds for the connection: the requests in progress
 * ({@link FsRequestsInProgress}), each owner's Read and Write shares ({@link FsOwnerShares}), where
 * each id's Write data goes ({@link FsWriteData}), the requests that wait for the output
 * ({@link FsOutputWaits}); tasks run through {@link FsTasks}, and the handles of an owner that left
 * close through {@link FsHandleClosing}.
 */
public final class FsService {
    private static final Logger log = LoggerFactory.getLogger(FsService.class);

    /** One request in progress on its id. */
    interface Active {
        /** The owner (or its id range) is gone: stop, send nothing more. Loop thread. */
        void abort();

        /**
         * The agent is stopping and its host is still there: end with an answer through
         * {@link #finish}, ECANCELED ({@link FsShutdownAnswers}) unless it has its own already, now
         * or once nothing more of it can reach the disk (the agent's flush waits for it,
         * {@link #hasRequestsInProgress}). Loop thread.
         */
        void agentShuttingDown();
    }

    private final HostOutput out;
    private final FsWorkers workers;
    private final FsSettings settings;
    private final FsHandles handles;
    private final FsOperations operations;
    private final FsTasks tasks;
    private final FsRequestsInProgress requests;
    private final FsWriteData writeData = new FsWriteData();
    private final FsOutputWaits outputWaits;
    private final FsOwners owners = new FsOwners();
    private final FsOwnerShares shares;
    private final FsHandleClosing handleClosing;
    /** The agent is stopping ({@link #agentShuttingDown}): a new request is answered ECANCELED at once. */
    private boolean shuttingDown;

    /**
     * @param loop runs a task on the loop thread (EventLoop::execute), from any thread
     */
    public FsService(Executor loop, HostOutput out, LongPredicate heldIds, FsWorkers workers, UserDb users,
                     FsCredentials credentials, FsSettings settings) {
        this.out = out;
        this.workers = workers;
        this.outputWaits = new FsOutputWaits(out, heldIds, workers.answerGate());
        this.shares = new FsOwnerShares(workers.buffers());
        this.tasks = new FsTasks(loop, workers, users, credentials);
        this.settings = settings;
        this.requests = new FsRequestsInProgress(settings);
        this.handles = new FsHandles(workers.handleBudget(), owners);
        this.handleClosing = new FsHandleClosing(handles, workers);
        this.operations = new FsOperations(handles);
    }

    /** With the system's user database and the agent's own credentials read now. */
    public static FsService create(Executor loop, HostOutput out, LongPredicate heldIds, FsWorkers workers,
                                   FsSettings settings) {
        return new FsService(loop, out, heldIds, workers, UserDb.system(), FsCredentials.ofAgent(), settings);
    }

    /** True while an fs request on {@code id} has not sent its terminal response (the id is in use). */
    public boolean inProgress(long id) {
        return requests.contains(id);
    }

    /**
     * {@code request} on {@code id} was refused before it reached this service (the id is in use by
     * a session): a Write's data the host already sent is dropped quietly, as for any refused Write.
     */
    public void refusedBeforeStart(long id, FsRequest request) {
        writeData.refused(id, request);
    }

    public void onRequest(long id, FsRequest request) {
        if (id == Protocol.CONTROL_ID) {
            out.refuse(id, ErrorKind.INVALID_SESSION, MessageType.FS_REQUEST.wire(),
                    "id 0 is the control channel, not a request id");
            writeData.refused(id, request);
            return;
        }
        if (requests.contains(id)) {
            // The host's next core.fs.data on this id could be either request's: a Write in progress
            // fails (nothing after is written) rather than take the other's bytes.
            boolean failed = writeData.failOnForeignFrame(id, "another fs request");
            out.refuse(id, ErrorKind.INVALID_SESSION, MessageType.FS_REQUEST.wire(),
                    "id " + id + " has an fs request in progress: one request per id"
                            + (failed ? " (its Write fails once what came before is written: the id's data could be either's)" : ""));
            writeData.refused(id, request);
            return;
        }
        writeData.newRequest(id);
        if (shuttingDown) {
            respond(id, request, FsShutdownAnswers.notBegun(request.op()).response(request.extended()));
            writeData.refused(id, request);
            return;
        }
        long owner = owners.ownerOf(id);
        String whose = requests.whyFull(owner);
        if (whose != null) {
            respond(id, request, new FsFailure(FsFailure.EAGAIN, "agent busy: " + whose + ", try again (os error 11)")
                    .response(request.extended()));
            writeData.refused(id, request);
            return;
        }
        FsOp op = request.op();
        if (op instanceof FsOp.Read read) {
            FsReadStream stream = new FsReadStream(this, id, request, read);
            requests.track(id, owner, stream);
            stream.next();
        } else if (op instanceof FsOp.Write write) {
            FsWriteStream stream = new FsWriteStream(this, id, request, write);
            requests.track(id, owner, stream);
            writeData.started(id, stream);
            stream.start();
        } else if (FsOperations.sliced(op)) {
            FsSlicedRequest sliced = new FsSlicedRequest(this, id, request);
            requests.track(id, owner, sliced);
            sliced.start();
        } else {
            FsSimpleRequest simple = new FsSimpleRequest(this, id, request);
            requests.track(id, owner, simple);
            if (op instanceof FsOp.ListDir || op instanceof FsOp.ReadDir) {
                outputWaits.startInTurn(simple);
            } else {
                simple.start();
            }
        }
    }

    /**
     * A {@code type} frame on {@code id} that the codec refused (answered with core.error): what it
     * held is unknown. A Write in progress on the id fails, as nothing after a refused chunk may be
     * written (the file would have a hole where it was); after a refused request, whatever data
     * follows on the id is dropped quietly to its empty chunk, as for any refused Write.
     */
    public void refusedByCodec(long id, String type) {
        writeData.failOnForeignFrame(id, "a " + type + " the agent refused");
        if (MessageType.FS_REQUEST.wire().equals(type)) {
            // Data after it is the refused request's, whatever else is on the id (a Write that had
            // its empty chunk and is still writing takes none): dropped quietly, not one core.error a chunk.
            absorbRest(id);
        }
    }

    /**
     * The link skipped a frame unread (a length it could not trust): it may have been a chunk of
     * any Write in progress, so each one that still takes data fails (see
     * {@link FsWriteStream#failOnSkippedFrame}).
     */
    public void inputLost() {
        writeData.failOnSkippedFrame();
    }

    /** core.fs.data from the host: the data of the Write in progress on {@code id}. */
    public void onData(long id, byte[] data) {
        if (writeData.take(id, data)) {
            return;
        }
        out.refuse(id, ErrorKind.INVALID_SESSION, MessageType.FS_DATA.wire(),
                "no fs Write in progress on id " + id);
    }

    /**
     * The output went below its low-water mark, or the relay released held ids: paused Reads go on
     * (one still held pauses again at once).
     */
    public void onOutputResumed() {
        outputWaits.resume();
    }

    /** The owner left: every request stops unanswered, every handle closes (atomic uploads dropped). */
    public void onOwnerGone() {
        closeAll(id -> true, "the connection ended");
        outputWaits.leaveGate();
        owners.forget(); // on a port, whoever comes next may be no relay
        shares.forget();
    }

    /**
     * The agent stops (core.shutdown or a signal), every session's exit queued, before the flush:
     * each request in progress ends with an answer (ECANCELED, {@link Active#agentShuttingDown}),
     * since the host is still there to read it; until the agent exits, a new one is answered
     * ECANCELED at once. The agent's flush waits for the answers that are not sent yet
     * ({@link #hasRequestsInProgress}). Its handles close later, with the connection
     * ({@link #onOwnerGone}).
     */
    public void agentShuttingDown() {
        shuttingDown = true;
        int told = requests.agentShuttingDown();
        if (told > 0) {
            log.info("fs: the agent is shutting down: {} request(s) in progress answered ECANCELED, or their own"
                    + " answer where they had one", told);
        }
    }

    /** True while some request has not sent its answer (the agent's flush waits for it while it stops). */
    public boolean hasRequestsInProgress() {
        return !requests.isEmpty();
    }

    /**
     * A relay's notice named the id range [start, endExclusive) of one of its clients: from now on
     * the handles opened by ids in it answer only requests on ids in it (see {@link FsOwners}).
     */
    public void onIdRangeNamed(long start, long endExclusive) {
        owners.rangeNamed(start, endExclusive);
    }

    /** Behind a relay, the client of ids [start, endExclusive) left: its requests and handles go. */
    public void onIdRangeGone(long start, long endExclusive) {
        closeAll(id -> id >= start && id < endExclusive, "ids " + start + ".." + endExclusive + " are gone");
    }

    /**
     * Tests: {@code pause} runs on the worker between an FStat's or FSetStat's path and its system
     * calls, and before each entry a ReadDir takes.
     */
    void pauseMetadataCalls(Runnable pause) {
        operations.metadataPause = pause;
    }

    /** Owners (the connection, relay clients) with a Read or Write share now (tests). */
    int ownersWithShares() {
        return shares.owners();
    }

    /** Handles open now (tests, logs). */
    public int openHandles() {
        return handles.size();
    }

    private void closeAll(LongPredicate ids, String why) {
        List<Long> gone = requests.idsOf(ids);
        for (Long id : gone) {
            requests.untrack(id).abort();
            writeData.ended(id);
        }
        outputWaits.forget(ids);
        writeData.forget(ids);
        int closed = handleClosing.closeOpenedBy(ids);
        if (!gone.isEmpty() || closed > 0) {
            log.info("fs: {}: {} request(s) stopped, {} handle(s) closed", why, gone.size(), closed);
        }
    }

    // ---- shared by the request kinds --------------------------------------------------------

    FsHandles handles() {
        return handles;
    }

    FsOperations operations() {
        return operations;
    }

    FsRequestsInProgress requests() {
        return requests;
    }

    FsHandleClosing handleClosing() {
        return handleClosing;
    }

    FsOutputWaits outputWaits() {
        return outputWaits;
    }

    FsSettings settings() {
        return settings;
    }

    HostOutput out() {
        return out;
    }

    FsBuffers buffers() {
        return workers.buffers();
    }

    /** The Read share of the owner of {@code id} ({@link FsOwnerShares#readShare}). */
    FsReadShare readShare(long id) {
        return shares.readShare(owners.ownerOf(id));
    }

    /** The Write share of the owner of {@code id} ({@link FsOwnerShares#writeShare}). */
    FsWriteShare writeShare(long id) {
        return shares.writeShare(owners.ownerOf(id));
    }

    /** Runs {@code task} on a worker with the request's user's rights; the outcome goes to {@code then} on the loop. */
    <T> void work(FsRequest request, FsCredentials.Operation<T> task, FsTasks.Outcome<T> then) {
        work(request, task, then, () -> false);
    }

    /** As {@link #work(FsRequest, FsCredentials.Operation, FsTasks.Outcome)}, stoppable ({@link FsTasks#run}). */
    <T> void work(FsRequest request, FsCredentials.Operation<T> task, FsTasks.Outcome<T> then, BooleanSupplier stopped) {
        tasks.run(request, task, then, stopped);
    }

    /** From a worker inside {@link #work}: runs {@code step} on the loop, before the work's outcome. */
    void post(Runnable step) {
        tasks.post(step);
    }

    /** Runs {@code closes} off the loop and off the workers ({@link FsWorkers#closeAside}). */
    void closeAside(Runnable closes) {
        workers.closeAside(closes);
    }

    /** Sends the response that ends {@code id} and forgets the request. */
    void finish(long id, FsRequest request, FsResponse response) {
        requests.untrack(id);
        writeData.ended(id);
        respond(id, request, response);
    }

    /** A Write that ended before the host's empty chunk: its further data is dropped quietly. */
    void absorbRest(long id) {
        writeData.absorbRest(id);
    }

    private void respond(long id, FsRequest request, FsResponse response) {
        out.send(new Frame(id, MessageType.FS_RESPONSE, response));
    }
}
