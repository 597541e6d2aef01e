package io.agentd.client;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One session's start and end as its callers see them: the pid from started (attached), the exit
 * status or the failure that ended the session, the waits for them, and the check that a call
 * needs the session still running.
 */
final class StartAndExit {
    private final AgentConnection connection;
    private final long id;
    private final CompletableFuture<Long> started = new CompletableFuture<>();
    private final CompletableFuture<ExitStatus> exit = new CompletableFuture<>();

    StartAndExit(AgentConnection connection, long id) {
        this.connection = connection;
        this.id = id;
    }

    /** {@link ExecSession#awaitStarted}. */
    long awaitStarted(Duration timeout) throws AgentException, TimeoutException, InterruptedException {
        return await(started, timeout, "start");
    }

    /** {@link ExecSession#awaitExit}. */
    ExitStatus awaitExit(Duration timeout) throws AgentException, TimeoutException, InterruptedException {
        return await(exit, timeout, "exit");
    }

    /** {@link ExecSession#onExit}: a copy, which a caller may complete or cancel without harm. */
    CompletableFuture<ExitStatus> onExit() {
        return exit.copy();
    }

    /** The session has ended, one way or another. */
    boolean isDone() {
        return exit.isDone();
    }

    /** Started (or attached) came, or the session ended before. */
    boolean isStartDone() {
        return started.isDone();
    }

    /** Started (or attached) came, with the pid of the session's process. */
    void started(long pid) {
        started.complete(pid);
    }

    /**
     * The session ended: with its exit {@code status}, or with {@code failure} (then status is null),
     * which also fails a start still awaited.
     */
    void end(ExitStatus status, AgentException failure) {
        if (failure != null) {
            started.completeExceptionally(failure);
            exit.completeExceptionally(failure);
        } else {
            if (!started.isDone()) {
                started.completeExceptionally(new AgentException("agent sent exited without started"));
            }
            exit.complete(status);
        }
    }

    /**
     * Fails a call that needs the session running. One cut off by the end of its connection fails
     * with that ConnectionLostException, as its other calls do (a caller that reconnects on it must
     * see it here too); else with the plain "has ended", its failure (if any) as the cause.
     */
    void ensureLive(String what) throws AgentException {
        if (!exit.isDone()) {
            return;
        }
        AgentException failure = exit.isCompletedExceptionally()
                ? (AgentException) exit.handle((status, e) -> e).join() : null;
        if (failure instanceof ConnectionLostException lost) {
            throw new ConnectionLostException("cannot " + what + " session " + id + ": " + lost.getMessage(), lost);
        }
        throw new AgentException("cannot " + what + ": session " + id + " has ended", failure);
    }

    /** Waits for one of the session's answers ({@code what}, as messages name it), refused on the reader thread. */
    <T> T await(CompletableFuture<T> future, Duration timeout, String what)
            throws AgentException, TimeoutException, InterruptedException {
        if (!future.isDone()) {
            connection.refuseWaitOnReader("session " + id + "'s " + what);
        }
        try {
            return future.get(Timeouts.nanos(timeout), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new TimeoutException("session " + id + ": no " + what + " within " + Timeouts.text(timeout));
        } catch (ExecutionException e) {
            throw ((AgentException) e.getCause()).forCaller();
        }
    }
}
