package io.agentd.agent.fs;

import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;

/**
 * A Copy or a RemoveDir ({@link FsOperations#sliced}): begun on a worker, then gone on with a
 * slice at a time ({@link FsSlice}), each a task of its own queued behind the other requests'
 * tasks, as a Read's chunks are. Run to its end in one task, a Copy of a large file (or of a
 * sparse one read through: an 8 TiB one took hours) held one of the agent's few workers, and two
 * held every one: every other host's fs requests, a Stat too, went unanswered meanwhile (a
 * review). One answer, at its end; its owner gone, it stops (ECANCELED at its next step, or its next
 * slice not run) unanswered, and what it holds is let go on a worker with the request's rights. The
 * agent stopping stops it the same way, answered: ECANCELED once what it holds is let go.
 */
final class FsSlicedRequest implements FsService.Active {
    private final FsService service;
    private final long id;
    private final FsRequest request;
    /** Written on the loop, read by the worker before each slice and at each step ({@link FsStop}). */
    private volatile boolean aborted;
    /** Its task is queued or running on a worker (loop thread). */
    private boolean inWork;
    /** The agent is stopping: it stops as {@link #aborted} does, and is answered (written on the loop). */
    private volatile boolean shuttingDown;
    /** Made by the first task, gone on with by the later ones (one at a time: each follows the last's outcome). */
    private volatile FsSlicedWork work;

    FsSlicedRequest(FsService service, long id, FsRequest request) {
        this.service = service;
        this.id = id;
        this.request = request;
    }

    void start() {
        inWork = true;
        service.work(request, this::begin, this::sliceEnded, this::stopped);
    }

    /** On a worker: the operation's checks and its first slice. */
    private Boolean begin() throws FsFailure {
        FsSlice slice = new FsSlice();
        work = service.operations().begin(request.op());
        return goOn(slice);
    }

    /** On a worker: one slice; the work closed once it is done or failed (there, with the request's rights). */
    private Boolean goOn(FsSlice slice) throws FsFailure {
        boolean done;
        try {
            done = work.goOn(slice);
        } catch (FsFailure | RuntimeException | Error e) {
            work.close();
            throw e;
        }
        if (done) {
            work.close();
        }
        return done;
    }

    /** On the loop: the answer, or the next slice queued behind whatever other requests queued meanwhile. */
    private void sliceEnded(Boolean done, FsFailure failure) {
        if (aborted || stoppedByShutdown(done, failure)) {
            // A slice not run (stopped before a worker took it) or one that ended unfinished left the work open.
            boolean open = failure == null && !Boolean.TRUE.equals(done) && work != null;
            if (open) {
                service.work(request, this::closeWork, (closed, f) -> closedAfterStop(closed), () -> false);
                return;
            }
            closeIfLeftOpen();
            stopEnded();
            return;
        }
        if (failure != null || done) {
            closeIfLeftOpen();
            inWork = false;
            service.finish(id, request, failure != null ? failure.response(request.extended()) : FsResponse.success(null));
            return;
        }
        service.work(request, () -> goOn(new FsSlice()), this::sliceEnded, this::stopped);
    }

    /**
     * The agent's stop ended it short of its end: a slice not run, or FsStop's ECANCELED; not one
     * that was done or failed on its own, which answers as it is.
     */
    private boolean stoppedByShutdown(Boolean done, FsFailure failure) {
        return shuttingDown && !Boolean.TRUE.equals(done) && (failure == null || failure.errno() == FsFailure.ECANCELED);
    }

    /**
     * A task that failed before its slice ran left the work open: goOn closes it on every outcome of
     * a slice, but the task itself can fail first (the request's user gone between slices, its rights
     * refused, the kernel refusing a worker thread), and its descriptors, their room in the budget
     * and a Copy's temporary file would stay for good. Closed aside: the rights that failed cannot
     * be had for it (the temporary file then goes as the agent, as after a stop without a worker).
     * No slice runs meanwhile: they run one at a time, and this one's outcome is here.
     */
    private void closeIfLeftOpen() {
        if (work != null && !work.isClosed()) {
            service.closeAside(work::close);
        }
    }

    private Boolean closeWork() {
        work.close();
        return Boolean.TRUE;
    }

    /**
     * The close queued after a stop ran ({@code closed} true), or no worker could be had for it (the
     * kernel refused a thread): then it runs where a close that may wait on a hung mount can.
     */
    private void closedAfterStop(Boolean closed) {
        if (closed == null) {
            service.closeAside(work::close);
        }
        stopEnded();
    }

    /**
     * Stopped, and what it held let go: its host gone, its count in work ends ({@link #abort});
     * the agent stopping, it is answered ECANCELED.
     */
    private void stopEnded() {
        inWork = false;
        if (aborted) {
            service.requests().stoppedWorkEnded();
        } else {
            service.finish(id, request, FsShutdownAnswers.sliced(request.op()).response(request.extended()));
        }
    }

    /** The agent stops: its next step or slice does not run, and it is answered ECANCELED ({@link #stopEnded}). */
    @Override
    public void agentShuttingDown() {
        shuttingDown = true;
    }

    private boolean stopped() {
        return aborted || shuttingDown;
    }

    @Override
    public void abort() {
        if (!aborted && inWork) {
            service.requests().stoppedInWork();
        }
        aborted = true;
    }
}
