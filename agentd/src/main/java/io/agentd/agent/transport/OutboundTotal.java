package io.agentd.agent.transport;

import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The bytes queued for every host together, against a budget (loop thread only). Each link bounds
 * its own queue (QueueWaterMarks: input paused at four times the high-water mark), but not the sum:
 * 64 connections that send pings and read nothing queued 4 MiB each, 256 MiB of direct segments,
 * past the JVM's direct-memory limit (about its -Xmx: 160 MiB from the launcher then, 256 MiB now), and the
 * OutOfMemoryError ended the agent and every session with it. Past the budget, a link whose queue
 * is at its high-water mark has its input paused at once rather than at four times the mark.
 */
public final class OutboundTotal {
    /**
     * The agent's default: with it, 64 links each at its mark plus one answer stay well under the
     * launcher's heap-sized direct-memory limit.
     */
    public static final long DEFAULT_BUDGET = 32L * 1024 * 1024;

    private final long budget;
    private long queued;
    /** Runs when the queues go back within the budget (what waited for room may start). */
    private Runnable onBackWithinBudget = () -> {};
    /** Links holding a frame with a large answer until the queues are back within the budget, in the order they asked. */
    private final Set<Runnable> awaitingRoom = new LinkedHashSet<>();

    public OutboundTotal(long budget) {
        this.budget = budget;
    }

    /** No budget: a link alone (tests), bounded by its own marks only. */
    static OutboundTotal unbounded() {
        return new OutboundTotal(Long.MAX_VALUE);
    }

    /** {@code action} runs (loop thread) each time the queues together go back within the budget. */
    public void onBackWithinBudget(Runnable action) {
        this.onBackWithinBudget = action;
    }

    /** {@code retry} runs once (loop thread), the next time the queues go back within the budget. */
    void awaitRoom(Runnable retry) {
        awaitingRoom.add(retry);
    }

    /** A link that waits no more (its host left). */
    void cancelAwait(Runnable retry) {
        awaitingRoom.remove(retry);
    }

    /** A link's queue changed by {@code delta} bytes. */
    void add(long delta) {
        boolean wasOver = over();
        queued += delta;
        if (wasOver && !over()) {
            onBackWithinBudget.run();
            if (!awaitingRoom.isEmpty()) {
                Runnable[] retries = awaitingRoom.toArray(new Runnable[0]);
                awaitingRoom.clear();
                for (Runnable retry : retries) {
                    retry.run();
                }
            }
        }
    }

    /** True while the queues together hold more than the budget. */
    public boolean over() {
        return queued > budget;
    }

    long queued() {
        return queued;
    }
}
