package io.agentd.agent.fs;

import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;

/**
 * Any operation but Read and Write ({@link FsOperations}): one task, one answer. When the agent
 * stops, one a worker has begun runs to its answer (short: these walk no tree), so a Remove or
 * Rename is never answered as stopped after it was done; one not begun is answered ECANCELED.
 */
final class FsSimpleRequest implements FsService.Active {
    private final FsService service;
    private final long id;
    private final FsRequest request;
    /** Written on the loop, read by the worker before it runs the operation. */
    private volatile boolean aborted;
    /** Its task is queued or running on a worker (loop thread). */
    private boolean inWork;
    /** It holds room in the agent's {@link FsAnswerGate} (loop thread). */
    private boolean gated;
    /** The agent is stopping: a task not begun yet is not run (written on the loop). */
    private volatile boolean shuttingDown;
    /** A worker began its operation (written by the worker, read on the loop after the outcome). */
    private volatile boolean began;

    FsSimpleRequest(FsService service, long id, FsRequest request) {
        this.service = service;
        this.id = id;
        this.request = request;
    }

    long id() {
        return id;
    }

    /** Its owner left ({@link #abort}). */
    boolean aborted() {
        return aborted;
    }

    void start() {
        inWork = true;
        service.work(request, () -> {
            began = true;
            return service.operations().run(id, request.op());
        }, this::done, () -> aborted || shuttingDown);
    }

    /** A List or ReadDir, with room the gate gave it. */
    void startGated() {
        gated = true;
        start();
    }

    private void done(FsResponse response, FsFailure failure) {
        inWork = false;
        if (aborted) {
            service.requests().stoppedWorkEnded(); // counted when it was stopped in work (abort)
            if (response != null && response.data() instanceof FsResponseData.Handle h) {
                service.handleClosing().closeOrphan(h.handle(), id); // opened after its owner left
            }
        } else if (!began && failure == null) { // not run: the agent stopping stopped it first
            service.finish(id, request, FsShutdownAnswers.notBegun(request.op()).response(request.extended()));
        } else {
            service.finish(id, request, failure != null ? failure.response(request.extended()) : response);
        }
        // After the answer is queued: the gate's room, handed on now, goes only where output is under its mark.
        if (gated) {
            gated = false;
            service.outputWaits().answerDone();
        }
    }

    /**
     * The agent stops: a List or ReadDir still waiting for its turn at the output is answered
     * ECANCELED now; one with its task queued, once a worker passes it by; one begun, with its answer.
     */
    @Override
    public void agentShuttingDown() {
        if (inWork) {
            shuttingDown = true;
            return;
        }
        abort(); // FsOutputWaits drops it from its turn
        service.finish(id, request, FsShutdownAnswers.notBegun(request.op()).response(request.extended()));
    }

    @Override
    public void abort() {
        if (!aborted && inWork) {
            service.requests().stoppedInWork();
        }
        aborted = true;
    }
}
