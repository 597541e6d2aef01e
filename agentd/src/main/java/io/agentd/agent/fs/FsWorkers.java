package io.agentd.agent.fs;

import io.agentd.agent.sys.Threads;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The small pool every fs operation runs on, off the event loop, shared by all connections. Its
 * queue is not bounded by itself: what bounds it is {@link FsService}, which lets each connection
 * have at most {@link FsSettings#maxActive()} requests in progress and each request at most one task
 * queued at a time (a Read's next chunk, a Write's next batch, a Copy's or RemoveDir's next slice).
 * Daemon threads: the agent's exit does not wait for them.
 */
public final class FsWorkers {
    private final ThreadPoolExecutor pool;
    private static final String THREAD_PREFIX = "agentd-fs-";
    private final FsBuffers buffers;
    private final FsHandleBudget handleBudget;
    private final FsInternalErrors internalErrors = new FsInternalErrors();
    private final FsAnswerGate answerGate = new FsAnswerGate();
    /** Whether the workers were made (loop thread only). */
    private boolean started;
    /** Closes the handles of owners that left ({@link #closeAside}); made at its first use, by the loop thread. */
    private ThreadPoolExecutor closer;

    public FsWorkers(int threads) {
        this(threads, FsBuffers.READ_BUDGET_DEFAULT, FsBuffers.WRITE_BUDGET_DEFAULT);
    }

    /** With budgets of Read buffers and Write data other than the defaults, agent-wide ({@link FsBuffers}). */
    FsWorkers(int threads, long readBudget, long writeBudget) {
        this(threads, readBudget, writeBudget, FsHandleBudget.halfTheOpenFileLimit());
    }

    /** With a handle budget of its own (tests). */
    FsWorkers(int threads, long readBudget, long writeBudget, FsHandleBudget handleBudget) {
        this(threads, readBudget, writeBudget, handleBudget, Thread::new);
    }

    /** With threads made by {@code makeThread} (tests: one the kernel refuses), named and made daemons here. */
    FsWorkers(int threads, long readBudget, long writeBudget, FsHandleBudget handleBudget,
            java.util.concurrent.ThreadFactory makeThread) {
        this.buffers = new FsBuffers(readBudget, writeBudget);
        this.handleBudget = handleBudget;
        AtomicInteger n = new AtomicInteger();
        this.pool = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(),
                task -> {
                    Thread t = makeThread.newThread(task);
                    t.setName(THREAD_PREFIX + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
    }

    /**
     * Runs {@code task} on a worker; called on the loop thread only ({@link FsService}); false (and
     * the task not run) when the kernel would not start a worker's thread. A worker whose
     * credentials could not be put back after an operation with a user throws
     * {@link FsCredentials.CredentialsStuck}, an Error: the uncaught handler Main installs then ends the agent.
     */
    boolean run(Runnable task) {
        if (closer != null) {
            submitWaitingCloses();
        }
        try {
            if (!started) {
                // An agent that serves no fs request makes no worker. A new thread copies its creator's
                // credentials: all workers are made at once, here, by the loop thread, which never takes a
                // user's rights, and never later by a worker that may hold them.
                if (Thread.currentThread().getName().startsWith(THREAD_PREFIX)) {
                    throw new IllegalStateException("fs workers must be made by the loop thread, not by a worker");
                }
                pool.prestartAllCoreThreads();
                started = true; // not when one could not be made: the next request makes the rest
            }
            pool.execute(task);
            return true;
        } catch (OutOfMemoryError e) {
            // The kernel refused a worker's thread (a session's fork bomb in the agent's pid space):
            // that request is refused, not the agent ended with every host's sessions (a review).
            if (!Threads.startRefused(e)) {
                throw e;
            }
            return false;
        }
    }

    /**
     * Runs {@code closes} (handles whose owner left) on a thread of its own; called on the loop
     * thread only. Closing a file can wait as long as I/O on it does: FileChannel.close waits for
     * the threads in it, and a worker reading a hung FUSE or NFS file waits in the kernel, where the
     * signal close sends does not reach it. On the loop that stopped every host; here it holds up
     * only the closes queued after it. Not the workers: they may all be in such reads.
     */
    void closeAside(Runnable closes) {
        if (closer == null) {
            // Threads made in execute(), on the loop thread, which never takes a user's rights: a
            // thread copies its creator's. Several, each ending when idle: one close stuck on a hung
            // mount must not hold up every later connection's closes (and their room in the handle
            // budget, which comes back only as each is done).
            AtomicInteger n = new AtomicInteger();
            closer = new ThreadPoolExecutor(CLOSER_THREADS, CLOSER_THREADS, 10, TimeUnit.SECONDS,
                    new LinkedBlockingQueue<>(), task -> {
                        Thread t = new Thread(task, THREAD_PREFIX + "closer-" + n.incrementAndGet());
                        t.setDaemon(true);
                        return t;
                    });
            closer.allowCoreThreadTimeOut(true);
        }
        closesWaiting.add(closes);
        submitWaitingCloses();
    }

    /**
     * Hands the closes waiting to the closing threads. A thread the kernel refuses (a session's fork
     * bomb in the agent's pid space) leaves them waiting, tried again at the next fs request or
     * close: never on the loop, where a close on a hung mount would stop every host. Below its core
     * size the executor starts a thread for the task before it queues anything, so a refused one
     * leaves nothing in its queue.
     */
    private void submitWaitingCloses() {
        while (!closesWaiting.isEmpty()) {
            try {
                closer.execute(closesWaiting.peek());
            } catch (OutOfMemoryError e) {
                if (!Threads.startRefused(e)) {
                    throw e;
                }
                return;
            }
            closesWaiting.poll();
        }
    }

    /** Closes whose closing thread the kernel refused, in their order (loop thread only). */
    private final java.util.ArrayDeque<Runnable> closesWaiting = new java.util.ArrayDeque<>();

    /** Closing threads at most: as many closes stuck at once before later ones wait behind them. */
    static final int CLOSER_THREADS = 8;

    /** Worker threads alive now. */
    int threads() {
        return pool.getPoolSize();
    }

    /** The chunk buffers all fs transfers share. */
    FsBuffers buffers() {
        return buffers;
    }

    /** The room for open handles all connections share. */
    FsHandleBudget handleBudget() {
        return handleBudget;
    }

    /** The room for List and ReadDir answers all connections share (loop thread). */
    FsAnswerGate answerGate() {
        return answerGate;
    }

    /**
     * Large fs answers start only while {@code agentOverBudget} is false: every host's queues
     * together within the agent's budget ({@link FsAnswerGate}). Loop thread, before serving.
     */
    public void limitAnswersBy(java.util.function.BooleanSupplier agentOverBudget) {
        answerGate.limitBy(agentOverBudget);
    }

    /** The hosts' queues went back within the agent's budget: waiting large answers may start. Loop thread. */
    public void answerRoomBack() {
        answerGate.roomBack();
    }

    /** The log of unexpected failures, throttled agent-wide (loop thread). */
    FsInternalErrors internalErrors() {
        return internalErrors;
    }

    /** How long the agent's exit waits for the closes queued (an atomic upload's temporary file is removed by its close). */
    static final long CLOSES_AT_EXIT_MILLIS = 2000;

    /**
     * Stops taking tasks (agent exit). The closes already queued (the handles of the connections
     * the exit ended) run first, for up to {@link #CLOSES_AT_EXIT_MILLIS}: a close that waits on a
     * hung mount does not hold the exit.
     */
    public void shutdown() {
        pool.shutdownNow();
        if (closer != null) {
            closer.shutdown();
            try {
                closer.awaitTermination(CLOSES_AT_EXIT_MILLIS, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            closer.shutdownNow();
        }
    }
}
