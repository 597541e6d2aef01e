package io.agentd.agent.fs;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The small pool every fs operation runs on, off the event loop, shared by all connections. Its
 * queue is not bounded by itself: what bounds it is {@link FsService}, which lets each connection
 * have at most {@link FsSettings#maxActive()} requests in progress and each request at most one task
 * queued at a time (a Read's next chunk, a Write's next batch). Daemon threads: the agent's exit
 * does not wait for them.
 */
public final class FsWorkers {
    private final ThreadPoolExecutor pool;
    private final FsBuffers buffers = new FsBuffers();

    public FsWorkers(int threads) {
        AtomicInteger n = new AtomicInteger();
        this.pool = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(),
                task -> {
                    Thread t = new Thread(task, "agentd-fs-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        // A new thread copies its creator's credentials: the workers are made now, by the thread that
        // makes the pool (the agent's main thread), never later by a worker holding a user's rights.
        pool.prestartAllCoreThreads();
    }

    /**
     * Runs {@code task} on a worker. A worker whose credentials could not be put back after an
     * operation with a user throws {@link FsCredentials.CredentialsStuck}, an Error: the uncaught
     * handler Main installs then ends the agent.
     */
    void run(Runnable task) {
        pool.execute(task);
    }

    /** The chunk buffers all fs transfers share. */
    FsBuffers buffers() {
        return buffers;
    }

    /** Stops taking tasks (agent exit). */
    public void shutdown() {
        pool.shutdownNow();
    }
}
