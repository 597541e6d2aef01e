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
 * One connection's FsService with the test thread as its loop and one real worker: each request
 * on an id of its own (extended, so failures carry their errno), run until it is answered.
 */
final class OneConnectionFs implements AutoCloseable {
    private final BlockingQueue<Runnable> loop = new LinkedBlockingQueue<>();
    private final RecordingHost host = new RecordingHost();
    private final FsWorkers workers = new FsWorkers(1);
    private final FsService fs = new FsService(loop::add, host, new HeldIds(), workers, UserDb.system(),
            FsCredentials.ofAgent(), new FsSettings(1, 8, 4096, 8192, 16384));
    private final Duration answerTimeout;
    private long nextId = 1;

    /** @param answerTimeout how long a request may go unanswered before the test fails */
    OneConnectionFs(Duration answerTimeout) {
        this.answerTimeout = answerTimeout;
    }

    FsResponse run(FsOp op) throws InterruptedException {
        return run(op, null);
    }

    /** {@code op} with {@code user}'s rights (the request's {@code user}; null: the agent's own). */
    FsResponse run(FsOp op, String user) throws InterruptedException {
        long id = nextId++;
        fs.onRequest(id, new FsRequest(op, user, true));
        long deadline = System.nanoTime() + answerTimeout.toNanos();
        while (host.frames.stream().noneMatch(f -> f.id() == id && f.type() == MessageType.FS_RESPONSE)) {
            Runnable task = loop.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (task == null) {
                throw new AssertionError("no answer to " + op + ": " + host.types());
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
