package io.agentd.agent.fs;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The small pool every fs operation runs on, off the event loop, shared by all connections. Its
 * queue is not bounded by itself: what bounds it is {@link FsService}, which lets each connection
 * have at most {@link FsSettings#maxActive()} requests in progress and each request at most one task
 * queued at a time (a Read's next chunk, a Write's next batch). Daemon threads: the agent's exit
 * does not wait for them.
 */
public final class FsWorkers {
    private static final Logger log = LoggerFactory.getLogger(FsWorkers.class);

    private final ThreadPoolExecutor pool;

    public FsWorkers(int threads) {
        AtomicInteger n = new AtomicInteger();
        this.pool = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(),
                task -> {
                    Thread t = new Thread(task, "agentd-fs-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
    }

    /**
     * Runs {@code task} on a worker. A worker whose credentials could not be put back after an
     * operation with a user ends there (the pool starts a fresh one): it must run nothing else.
     */
    void run(Runnable task) {
        pool.execute(() -> {
            try {
                task.run();
            } catch (FsCredentials.CredentialsStuck stuck) {
                log.error("{}: the worker thread ends", stuck.getMessage());
                throw stuck;
            }
        });
    }

    /** Stops taking tasks (agent exit). */
    public void shutdown() {
        pool.shutdownNow();
    }
}
