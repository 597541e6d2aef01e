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
 * slice not run) unanswered, and what it holds is let go on a worker with the request's rights.
 */
final class FsSlicedRequest implements FsService.Active {
    private final FsService service;
    private final long id;
    private final FsRequest request;
    /** Written on the loop, read by the worker before each slice and at each step ({@link FsStop}). */
    private volatile boolean aborted;
    /** Its task is queued or running on a worker (loop thread). */
    private boolean inWork;
    /** Made by the first task, gone on with by the later ones (one at a time: each follows the last's outcome). */
    private volatile FsSlicedWork work;

    FsSlicedRequest(FsService service, long id, FsRequest request) {
        this.service = service;
        this.id = id;
        this.request = request;
    }

    void start() {
        inWork = true;
        service.work(request, this::begin, this::sliceEnded, () -> aborted);
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
        if (aborted) {
            // A slice not run (stopped before a worker took it) or one that ended unfinished left the work open.
            boolean open = failure == null && !Boolean.TRUE.equals(done) && work != null;
            if (open) {
                service.work(request, this::closeWork, (closed, f) -> closedAfterStop(closed), () -> false);
                return;
            }
            inWork = false;
            service.requests().stoppedWorkEnded(); // counted when it was stopped in work (abort)
            return;
        }
        if (failure != null || done) {
            inWork = false;
            service.finish(id, request, failure != null ? failure.response(request.extended()) : FsResponse.success(null));
            return;
        }
        service.work(request, () -> goOn(new FsSlice()), this::sliceEnded, () -> aborted);
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
        inWork = false;
        service.requests().stoppedWorkEnded();
    }

    @Override
    public void abort() {
        if (!aborted && inWork) {
            service.requests().stoppedInWork();
        }
        aborted = true;
    }
}
