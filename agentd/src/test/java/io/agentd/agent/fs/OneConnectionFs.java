package io.agentd.agent.fs;

import io.agentd.agent.spawn.UserDb;
import io.agentd.agent.transport.HeldIds;
import io.agentd.agent.transport.RecordingHost;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One connection's FsService with the test thread as its loop and real workers (one, unless a test
 * asks for more): each request on an id of its own (extended, so failures carry their errno), run
 * until it is answered, or sent now and its answer awaited later.
 */
final class OneConnectionFs implements AutoCloseable {
    private final BlockingQueue<Runnable> loop = new LinkedBlockingQueue<>();
    private final RecordingHost host = new RecordingHost();
    private final FsWorkers workers;
    private final FsService fs;
    private final Duration answerTimeout;
    private long nextId = 1;

    /** @param answerTimeout how long a request may go unanswered before the test fails */
    OneConnectionFs(Duration answerTimeout) {
        this(answerTimeout, 1, new FsSettings(1, 8, 4096, 8192, 16384));
    }

    /** With {@code workers} workers, {@code settings} and the user database {@code users}. */
    OneConnectionFs(Duration answerTimeout, int workers, FsSettings settings, UserDb users) {
        this.answerTimeout = answerTimeout;
        this.workers = new FsWorkers(workers);
        this.fs = new FsService(loop::add, host, new HeldIds(), this.workers, users,
                FsCredentials.ofAgent(), settings);
    }

    /** The workers' descriptor budget, which what a request holds open is charged to. */
    FsHandleBudget handleBudget() {
        return workers.handleBudget();
    }

    /** With {@code workers} workers and {@code settings}. */
    OneConnectionFs(Duration answerTimeout, int workers, FsSettings settings) {
        this.answerTimeout = answerTimeout;
        this.workers = new FsWorkers(workers);
        this.fs = new FsService(loop::add, host, new HeldIds(), this.workers, UserDb.system(),
                FsCredentials.ofAgent(), settings);
    }

    /** The service itself, for its test seams and its owner's end. */
    FsService service() {
        return fs;
    }

    FsResponse run(FsOp op) throws InterruptedException {
        return run(op, null);
    }

    /** {@code op} with {@code user}'s rights (the request's {@code user}; null: the agent's own). */
    FsResponse run(FsOp op, String user) throws InterruptedException {
        return answer(send(op, user));
    }

    /** Sends {@code op} (with {@code user}'s rights) and returns its id, without waiting for its answer. */
    long send(FsOp op, String user) {
        long id = nextId++;
        fs.onRequest(id, new FsRequest(op, user, true));
        return id;
    }

    /** Sends a chunk of a Write's data on {@code id} (an empty one ends it). */
    void data(long id, byte[] bytes) {
        fs.onData(id, bytes);
    }

    /** Whether anything was sent to the host on {@code id}. */
    boolean sentOn(long id) {
        return host.frames.stream().anyMatch(f -> f.id() == id);
    }

    /** Runs the loop's tasks until {@code id} is answered, and returns that answer. */
    FsResponse answer(long id) throws InterruptedException {
        long deadline = System.nanoTime() + answerTimeout.toNanos();
        while (host.frames.stream().noneMatch(f -> f.id() == id && f.type() == MessageType.FS_RESPONSE)) {
            Runnable task = loop.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (task == null) {
                throw new AssertionError("no answer on id " + id + ": " + host.types());
            }
            task.run();
        }
        return host.frames.stream().filter(f -> f.id() == id && f.type() == MessageType.FS_RESPONSE)
                .map(f -> (FsResponse) f.payload()).findFirst().orElseThrow();
    }

    /** The connection ends: its handles are closed on a closing thread of their own (atomic uploads dropped). */
    void ownerGone() {
        fs.onOwnerGone();
    }

    @Override
    public void close() {
        workers.shutdown();
    }
}
