package io.agentd.agent.fs;

import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsRequest;

/**
 * The loop's side of a Write's worker turns ({@link FsWriteStream}): hands its queued buffers on to
 * the worker ({@link FsWriteQueue}, {@link FsWriteWorker}), runs one turn at a time, gives each
 * buffer written back to the pool and reports it to the Write in order, and stops the worker when
 * the Write takes no more. Loop thread only.
 */
final class FsWriteTurns {
    /** What a Write hears of its turns, on the loop. */
    interface Reports {
        /** A buffer of {@code bytes} is in the file (and back in the pool). */
        void bufferWritten(int bytes);

        /** The buffers a posted take found were reported. */
        void buffersCounted();

        /** A turn ended, after every buffer it wrote was reported: {@code failure}, or null. */
        void turnEnded(FsFailure failure);
    }

    private final FsService service;
    private final FsRequest request;
    private final FsWriteQueue queue;
    private final FsBuffers buffers;
    private final FsWriteWorker worker;
    /** Buffers the worker wrote, to the loop in order, to be given back and counted. */
    private final WorkerHandoff<FsWriteWorker.Written> writtenBuffers;
    private final Reports reports;
    /** A worker turn is running: set when started, cleared when its outcome comes back. */
    private boolean writing;
    /** The worker takes no more buffers ({@link FsWriteQueue#stop}), as the loop knows it. */
    private boolean stopped;
    /** The worker was writing a buffer when it was stopped: the answer waits for its turn's end. */
    private boolean lastBufferInFlight;

    FsWriteTurns(FsService service, FsRequest request, FsOp.Write write, FsDigest digest, FsWriteQueue queue,
                 Reports reports) {
        this.service = service;
        this.request = request;
        this.queue = queue;
        this.buffers = service.buffers();
        this.reports = reports;
        this.writtenBuffers = new WorkerHandoff<>(service::post, this::bufferWritten, reports::buffersCounted);
        this.worker = new FsWriteWorker(write, digest, queue, buffers, writtenBuffers);
    }

    /**
     * Hands the queued buffers to the worker and starts a turn writing into {@code file} unless one
     * is running. While a turn runs, the last buffer stays on the loop until it is full, to take the
     * host's next small chunks, unless {@code noMoreData} comes.
     */
    void writeMore(FsHandle.File file, boolean noMoreData) {
        if (stopped) {
            return;
        }
        queue.handOn(writing && !noMoreData);
        if (!writing && queue.anyHanded()) {
            writing = true;
            service.work(request, () -> worker.writeHanded(file), this::turnEnded);
        }
    }

    /**
     * Whether the worker may still put bytes in the file: a turn runs, and the worker was not stopped
     * or was stopped in the middle of a buffer.
     */
    boolean mayStillWrite() {
        return writing && (!stopped || lastBufferInFlight);
    }

    /**
     * The worker takes no more buffers; what it finished is reported now. When it was writing one,
     * {@link #mayStillWrite} until the end of its turn.
     */
    void stop() {
        lastBufferInFlight = queue.stop();
        stopped = true;
        writtenBuffers.takeAll();
    }

    private void bufferWritten(FsWriteWorker.Written w) {
        buffers.release(w.chunk());
        reports.bufferWritten(w.bytes());
    }

    private void turnEnded(Boolean ignored, FsFailure failure) {
        writing = false;
        lastBufferInFlight = false;
        writtenBuffers.takeAll(); // the turn's last buffers, should their take not have run yet
        reports.turnEnded(failure);
    }
}
