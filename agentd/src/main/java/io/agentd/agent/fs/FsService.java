package io.agentd.agent.fs;

import io.agentd.agent.LogText;
import io.agentd.agent.loop.ByteBudget;
import io.agentd.agent.spawn.TargetUser;
import io.agentd.agent.spawn.UserDb;
import io.agentd.agent.transport.HostOutput;
import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.HostText;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.Frame;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
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
 */
public final class FsService {
    private static final Logger log = LoggerFactory.getLogger(FsService.class);
    /** Write ids that ended early whose remaining data is dropped quietly until their empty chunk. */
    private static final int ABSORBED_MAX = 1024;

    /** One request in progress on its id. */
    interface Active {
        /** The owner (or its id range) is gone: stop, send nothing more. Loop thread. */
        void abort();
    }

    private final Executor loop;
    private final HostOutput out;
    /** Ids whose output the relay asked to hold (their Reads wait): the connection's HeldIds. */
    private final LongPredicate heldIds;
    private final FsWorkers workers;
    private final UserDb users;
    private final FsCredentials credentials;
    private final FsSettings settings;
    private final FsHandles handles;
    private final FsOperations operations;
    private final Map<Long, Active> active = new HashMap<>();
    private final Map<Long, FsWriteStream> writes = new HashMap<>();
    private final List<FsReadStream> paused = new ArrayList<>();
    /** List and ReadDir requests waiting to start (see {@link FsAnswerGate}), in order. */
    private final ArrayDeque<Simple> waitingAnswers = new ArrayDeque<>();
    /**
     * Requests stopped (their owner gone) whose task is still queued or running on a worker: they
     * count against {@link FsSettings#maxActive()} until it is done, so that a host cannot queue
     * work without bound by starting requests and ending their owner, again and again.
     */
    private int abortedInWork;
    private final LinkedHashSet<Long> absorbing = new LinkedHashSet<>();
    /**
     * Each owner's share of the agent-wide Read budget ({@link FsOwners}: the connection, or behind a
     * relay each client): its Reads' buffers come from it. Per owner, not per connection: one relay
     * client whose Reads were paused (it read nothing, so the relay held its ids) kept the
     * connection's whole share, and every other client's Reads, down to a 6-byte file, waited for it.
     */
    private final Map<Long, FsReadShare> readShares = new HashMap<>();
    /** Each owner's share of the agent-wide Write budget: its windowed Writes' credit comes from it. */
    private final Map<Long, FsWriteShare> writeShares = new HashMap<>();
    /**
     * This connection's part of the agent-wide Read and Write budgets, which every owner's share
     * reserves from: however many relay clients it serves, a connection holds its part and no more
     * (each client's share alone let a host that named 16 id ranges hold the agent's whole budget,
     * and every other connection's uploads and downloads waited).
     */
    private final ByteBudget connectionReads;
    private final ByteBudget connectionWrites;
    /**
     * Requests in progress by owner ({@link FsOwners}), and the owner each was admitted under. The
     * connection has {@link FsSettings#maxActive()} at once in all, and behind a relay one client
     * at most {@link #RELAY_CLIENT_PART} of them: with the connection's limit alone, one relay
     * client's requests made every other client's "agent busy".
     */
    private final Map<Long, Integer> activeByOwner = new HashMap<>();
    private final Map<Long, Long> ownerOfActive = new HashMap<>();
    /** The part of the connection's requests in progress one relay client may have: a quarter. */
    static final int RELAY_CLIENT_PART = 4;
    private final FsOwners owners = new FsOwners();

    /**
     * @param loop runs a task on the loop thread (EventLoop::execute), from any thread
     */
    public FsService(Executor loop, HostOutput out, LongPredicate heldIds, FsWorkers workers, UserDb users,
                     FsCredentials credentials, FsSettings settings) {
        this.loop = loop;
        this.out = out;
        this.heldIds = heldIds;
        this.workers = workers;
        this.connectionReads = ByteBudget.shareOf(workers.buffers().reads(), workers.buffers().readShare());
        this.connectionWrites = ByteBudget.shareOf(workers.buffers().writes(), workers.buffers().writeShare());
        this.users = users;
        this.credentials = credentials;
        this.settings = settings;
        this.handles = new FsHandles(workers.handleBudget(), owners);
        this.operations = new FsOperations(handles);
    }

    /** With the system's user database and the agent's own credentials read now. */
    public static FsService create(Executor loop, HostOutput out, LongPredicate heldIds, FsWorkers workers,
                                   FsSettings settings) {
        return new FsService(loop, out, heldIds, workers, UserDb.system(), FsCredentials.ofAgent(), settings);
    }

    /**
     * Whether a Read on {@code id} may queue more data now: the output is under its high-water mark
     * and the relay has not asked to hold that id's output ({@link io.agentd.agent.transport.HeldIds}).
     */
    boolean takesOutputOf(long id) {
        return out.acceptsOutput() && !heldIds.test(id);
    }

    /** True while an fs request on {@code id} has not sent its terminal response (the id is in use). */
    public boolean inProgress(long id) {
        return active.containsKey(id);
    }

    /**
     * {@code request} on {@code id} was refused before it reached this service (the id is in use by
     * a session): a Write's data the host already sent is dropped quietly, as for any refused Write.
     */
    public void refusedBeforeStart(long id, FsRequest request) {
        if (request.op() instanceof FsOp.Write) {
            absorbRest(id);
        }
    }

    public void onRequest(long id, FsRequest request) {
        if (id == Protocol.CONTROL_ID) {
            out.refuse(id, ErrorKind.INVALID_SESSION, MessageType.FS_REQUEST.wire(),
                    "id 0 is the control channel, not a request id");
            if (request.op() instanceof FsOp.Write) {
                absorbRest(id);
            }
            return;
        }
        if (active.containsKey(id)) {
            // The host's next core.fs.data on this id could be either request's: a Write in progress
            // fails (nothing after is written) rather than take the other's bytes.
            FsWriteStream write = writes.get(id);
            boolean failed = write != null && write.failOnForeignFrame("another fs request");
            out.refuse(id, ErrorKind.INVALID_SESSION, MessageType.FS_REQUEST.wire(),
                    "id " + id + " has an fs request in progress: one request per id"
                            + (failed ? " (its Write fails once what came before is written: the id's data could be either's)" : ""));
            if (request.op() instanceof FsOp.Write) {
                absorbRest(id);
            }
            return;
        }
        absorbing.remove(id);
        long owner = owners.ownerOf(id);
        int clientMax = Math.max(1, settings.maxActive() / RELAY_CLIENT_PART);
        boolean clientFull = owner != FsOwners.CONNECTION && activeByOwner.getOrDefault(owner, 0) >= clientMax;
        if (clientFull || active.size() + abortedInWork >= settings.maxActive()) {
            String whose = clientFull ? clientMax + " fs requests in progress for this relay client"
                    : settings.maxActive() + " fs requests in progress on this connection";
            respond(id, request, new FsFailure(FsFailure.EAGAIN, "agent busy: " + whose + ", try again (os error 11)")
                    .response(request.extended()));
            if (request.op() instanceof FsOp.Write) {
                absorbRest(id); // the data the host already sent for it is dropped quietly, as for any refused Write
            }
            return;
        }
        FsOp op = request.op();
        if (op instanceof FsOp.Read read) {
            FsReadStream stream = new FsReadStream(this, id, request, read);
            track(id, owner, stream);
            stream.next();
        } else if (op instanceof FsOp.Write write) {
            FsWriteStream stream = new FsWriteStream(this, id, request, write);
            track(id, owner, stream);
            writes.put(id, stream);
            stream.start();
        } else {
            Simple simple = new Simple(id, request);
            track(id, owner, simple);
            if (op instanceof FsOp.ListDir || op instanceof FsOp.ReadDir) {
                waitingAnswers.add(simple);
                startWaitingAnswers();
            } else {
                simple.start();
            }
        }
    }

    /**
     * Starts the List and ReadDir requests that may start now, in order: only while this
     * connection's output is under its high-water mark, each with room in the agent's
     * {@link FsAnswerGate} (which calls this again when it has room); one whose id the relay holds
     * waits for its release ({@link #onOutputResumed}). Loop thread.
     */
    void startWaitingAnswers() {
        Iterator<Simple> it = waitingAnswers.iterator();
        while (it.hasNext() && out.acceptsOutput()) {
            Simple simple = it.next();
            if (simple.aborted) {
                it.remove();
            } else if (!heldIds.test(simple.id)) {
                if (!workers.answerGate().tryStart(this)) {
                    return;
                }
                it.remove();
                simple.startGated();
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
        FsWriteStream write = writes.get(id);
        if (write != null) {
            write.failOnForeignFrame("a " + type + " the agent refused");
        }
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
        for (FsWriteStream write : new ArrayList<>(writes.values())) {
            write.failOnSkippedFrame();
        }
    }

    /** core.fs.data from the host: the data of the Write in progress on {@code id}. */
    public void onData(long id, byte[] data) {
        FsWriteStream write = writes.get(id);
        if (write != null && !write.tookItsLastChunk()) { // after its empty chunk, data is another's
            write.onData(data);
            return;
        }
        if (absorbing.contains(id)) {
            if (data.length == 0) {
                absorbing.remove(id);
            }
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
        startWaitingAnswers();
        if (paused.isEmpty()) {
            return;
        }
        List<FsReadStream> resumed = new ArrayList<>(paused);
        paused.clear();
        for (FsReadStream stream : resumed) {
            stream.next();
        }
    }

    /** The owner left: every request stops unanswered, every handle closes (atomic uploads dropped). */
    public void onOwnerGone() {
        closeAll(id -> true, "the connection ended");
        workers.answerGate().forget(this);
        owners.forget(); // on a port, whoever comes next may be no relay
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

    /** Handles open now (tests, logs). */
    public int openHandles() {
        return handles.size();
    }

    private void closeAll(LongPredicate ids, String why) {
        List<Long> gone = new ArrayList<>();
        for (Long id : active.keySet()) {
            if (ids.test(id)) {
                gone.add(id);
            }
        }
        for (Long id : gone) {
            untrack(id).abort();
            writes.remove(id);
        }
        paused.removeIf(stream -> ids.test(stream.id));
        waitingAnswers.removeIf(simple -> simple.aborted);
        absorbing.removeIf(ids::test);
        List<FsHandle> closing = handles.removeOpenedBy(ids);
        if (!closing.isEmpty()) {
            workers.closeAside(() -> closing.forEach(this::abandon));
        }
        if (!gone.isEmpty() || !closing.isEmpty()) {
            log.info("fs: {}: {} request(s) stopped, {} handle(s) closed", why, gone.size(), closing.size());
        }
    }

    /**
     * Closes a handle whose owner left (off the loop: see {@link FsWorkers#closeAside}); its room in
     * the agent's budget comes back only now, so descriptors a hung close holds stay counted.
     */
    private void abandon(FsHandle h) {
        try {
            h.abandon();
        } catch (FsFailure f) {
            // The path is the host's text: quoted and escaped like every host text in a log line.
            log.warn("closing fs handle {} ({}): {}", h.handle, LogText.quote(h.path.toString()),
                    LogText.message(f.getMessage()));
        } catch (RuntimeException e) {
            log.error("closing fs handle {} failed unexpectedly", h.handle, e); // the others still close
        } finally {
            handles.closed(h);
        }
    }

    // ---- shared by the request kinds --------------------------------------------------------

    FsHandles handles() {
        return handles;
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

    /**
     * The Read share of the owner of {@code id}: the connection's share for the connection itself, a
     * {@link #RELAY_CLIENT_PART}th of it for each relay client (as with requests in progress), all
     * within the agent-wide budget.
     */
    FsReadShare readShare(long id) {
        long owner = owners.ownerOf(id);
        return readShares.computeIfAbsent(owner, o -> new FsReadShare(connectionReads,
                ownerPart(o, workers.buffers().readShare())));
    }

    /** The Write share of the owner of {@code id}, as {@link #readShare}. */
    FsWriteShare writeShare(long id) {
        long owner = owners.ownerOf(id);
        return writeShares.computeIfAbsent(owner, o -> new FsWriteShare(connectionWrites,
                ownerPart(o, workers.buffers().writeShare())));
    }

    private static long ownerPart(long owner, long connectionShare) {
        return owner == FsOwners.CONNECTION ? connectionShare : Math.max(1, connectionShare / RELAY_CLIENT_PART);
    }

    /** Runs {@code task} on a worker with the request's user's rights; the outcome goes to {@code then} on the loop. */
    <T> void work(FsRequest request, FsCredentials.Operation<T> task, Outcome<T> then) {
        work(request, task, then, () -> false);
    }

    /**
     * As {@link #work(FsRequest, FsCredentials.Operation, Outcome)}, but a task that {@code stopped}
     * says was stopped before a worker took it is not run: {@code then} gets (null, null).
     */
    <T> void work(FsRequest request, FsCredentials.Operation<T> task, Outcome<T> then, BooleanSupplier stopped) {
        boolean queued = workers.run(() -> {
            if (stopped.getAsBoolean()) {
                loop.execute(() -> then.done(null, null));
                return;
            }
            T value = null;
            FsFailure failure = null;
            try {
                TargetUser user = request.user() == null ? null : resolve(request.user());
                value = credentials.runAs(user, request.user(), task);
            } catch (FsFailure f) {
                failure = f;
            } catch (FsCredentials.CredentialsStuck stuck) {
                // Answered, then the Error ends the agent (FsCredentials): nothing may run on.
                FsFailure failed = new FsFailure(FsFailure.EIO, "internal error: " + stuck.getMessage());
                loop.execute(() -> then.done(null, failed));
                throw stuck;
            } catch (RuntimeException e) {
                loop.execute(() -> workers.internalErrors().report(e, System.nanoTime()));
                failure = new FsFailure(FsFailure.EIO, "internal error: " + e);
            }
            T result = value;
            FsFailure failed = failure;
            loop.execute(() -> then.done(result, failed));
        });
        if (!queued) {
            FsFailure refused = new FsFailure(FsFailure.EAGAIN, "the agent cannot start a thread for file"
                    + " operations now (the kernel refused one: its process or memory limit); try again later");
            loop.execute(() -> then.done(null, refused));
        }
    }

    /** From a worker inside {@link #work}: runs {@code step} on the loop, before the work's outcome. */
    void post(Runnable step) {
        loop.execute(step);
    }

    @FunctionalInterface
    interface Outcome<T> {
        void done(T value, FsFailure failure);
    }

    private TargetUser resolve(String spec) throws FsFailure {
        try {
            return users.resolve(spec);
        } catch (UserDb.LookupFailure f) {
            String quoted = HostText.quote(spec, HostText.QUOTE_MAX);
            throw f.errno() == 0
                    ? new FsFailure(FsFailure.EINVAL, "user " + quoted + ": no such user or group (" + f.stage() + ")")
                    : FsFailure.of(f.errno(), "user " + quoted + ": " + f.stage());
        }
    }

    private void track(long id, long owner, Active request) {
        active.put(id, request);
        ownerOfActive.put(id, owner);
        activeByOwner.merge(owner, 1, Integer::sum);
    }

    /** Forgets the request on {@code id} (null if none) and its count on its owner. */
    private Active untrack(long id) {
        Active request = active.remove(id);
        Long owner = ownerOfActive.remove(id);
        if (owner != null) {
            activeByOwner.computeIfPresent(owner, (o, n) -> n == 1 ? null : n - 1);
        }
        return request;
    }

    /** Sends the response that ends {@code id} and forgets the request. */
    void finish(long id, FsRequest request, FsResponse response) {
        untrack(id);
        writes.remove(id);
        respond(id, request, response);
    }

    /** A Write that ended before the host's empty chunk: its further data is dropped quietly. */
    void absorbRest(long id) {
        absorbing.add(id);
        if (absorbing.size() > ABSORBED_MAX) {
            Long oldest = absorbing.iterator().next();
            absorbing.remove(oldest);
        }
    }

    void pause(FsReadStream stream) {
        paused.add(stream);
    }

    private void respond(long id, FsRequest request, FsResponse response) {
        out.send(new Frame(id, MessageType.FS_RESPONSE, response));
    }

    /** Any operation but Read and Write: one task, one answer. */
    private final class Simple implements Active {
        private final long id;
        private final FsRequest request;
        /** Written on the loop, read by the worker before it runs the operation. */
        private volatile boolean aborted;
        /** Its task is queued or running on a worker (loop thread). */
        private boolean inWork;
        /** It holds room in the agent's {@link FsAnswerGate} (loop thread). */
        private boolean gated;

        Simple(long id, FsRequest request) {
            this.id = id;
            this.request = request;
        }

        void start() {
            inWork = true;
            work(request, () -> operations.run(id, request.op()), this::done, () -> aborted);
        }

        /** A List or ReadDir, with room the gate gave it. */
        void startGated() {
            gated = true;
            start();
        }

        private void done(FsResponse response, FsFailure failure) {
            inWork = false;
            if (aborted) {
                abortedInWork--; // counted when it was stopped in work (abort)
                if (response != null && response.data() instanceof FsResponseData.Handle h) {
                    closeOrphan(h.handle()); // opened after its owner left
                }
            } else {
                finish(id, request, failure != null ? failure.response(request.extended()) : response);
            }
            // After the answer is queued: the gate's room, handed on now, goes only where output is under its mark.
            if (gated) {
                gated = false;
                workers.answerGate().done();
            }
        }

        private void closeOrphan(long number) {
            FsHandle orphan = handles.removeUnclosed(number, id);
            if (orphan != null) { // else closed with the rest of the owner's handles
                workers.closeAside(() -> abandon(orphan));
            }
        }

        @Override
        public void abort() {
            if (!aborted && inWork) {
                abortedInWork++;
            }
            aborted = true;
        }
    }
}
