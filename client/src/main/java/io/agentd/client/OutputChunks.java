package io.agentd.client;

import java.time.Duration;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Output kept for {@link ExecSession#nextOutput}: every chunk, in arrival order, without a bound
 * (see {@link AgentClient#start(io.agentd.protocol.payload.ExecRequest)} for why), then the end.
 */
final class OutputChunks implements OutputSink {
    /** Queue marker: the session has ended and no output follows. */
    private static final Object END = new Object();

    private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();

    @Override
    public void deliver(Output output) {
        queue.add(output);
    }

    @Override
    public void end(AgentException cutShortBy) {
        queue.add(END); // awaitExit says how the session ended
    }

    /** The next chunk; null after the end. {@code beforeWait} runs (and may throw) when there is none yet. */
    Output next(long id, Duration timeout, Runnable beforeWait) throws TimeoutException, InterruptedException {
        Object item = queue.poll();
        if (item == null) {
            beforeWait.run();
            item = queue.poll(Timeouts.nanos(timeout), TimeUnit.NANOSECONDS);
        }
        if (item == null) {
            throw new TimeoutException("no output from session " + id + " within " + Timeouts.text(timeout));
        }
        if (item == END) {
            queue.add(END); // every later call sees the end too
            return null;
        }
        return (Output) item;
    }
}
