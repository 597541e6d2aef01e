package io.agentd.client.fs;

import io.agentd.client.AgentException;
import io.agentd.client.AgentTimeoutException;
import io.agentd.client.Timeouts;
import io.agentd.protocol.payload.FsResponse;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** A request answered by its response alone (every op but Read and Write); data frames are not expected. */
final class FsCall implements FsListener {
    final CompletableFuture<FsResponse> response = new CompletableFuture<>();

    @Override
    public void onData(byte[] data) {
        // not sent for these ops; the response says what happened
    }

    @Override
    public void onCredit(long bytes) {
        // only a Write gets credit
    }

    @Override
    public void onResponse(FsResponse r) {
        response.complete(r);
    }

    @Override
    public void onFailure(AgentException failure) {
        response.completeExceptionally(failure);
    }

    /**
     * Waits for the response on {@code id}; an agent silent for {@code timeout} is an
     * {@link AgentTimeoutException}. Giving up (that timeout, or an interrupt) retires the id: nobody is
     * left to take the answer, and an agent that never sends it must not hold the id for ever.
     */
    static FsResponse await(CompletableFuture<FsResponse> future, Duration timeout, String what, FsId id)
            throws IOException {
        return await(future, timeout, what, id::retire);
    }

    /** As above; {@code giveUp} runs when the caller gives up (retiring the id, or what replaces that). */
    static FsResponse await(CompletableFuture<FsResponse> future, Duration timeout, String what, Runnable giveUp)
            throws IOException {
        try {
            return future.get(Timeouts.nanos(timeout), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            giveUp.run();
            throw new AgentTimeoutException("no answer from the agent to " + what + " within " + Timeouts.text(timeout));
        } catch (ExecutionException e) {
            throw ((AgentException) e.getCause()).forCaller();
        } catch (InterruptedException e) {
            giveUp.run();
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted waiting for " + what);
        }
    }
}
