package io.agentd.agent.fs;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BooleanSupplier;

/**
 * Agent-wide room for the fs answers that can be large (List and ReadDir: up to
 * {@link FsListing#LIST_BUDGET_BYTES} each), loop thread only. Such an answer is built on a worker
 * and then queued for its host whole, past the link's high-water mark, in native memory. The number
 * of requests in progress bounds nothing here (256 a connection, 64 connections): a host that sent
 * 256 Lists of a large directory and read nothing took the agent past the JVM's direct-memory limit,
 * and the OutOfMemoryError ended it. So one starts only while every host's queues together are
 * within the agent's budget ({@link io.agentd.agent.transport.OutboundTotal}), with at most
 * {@link #BUILDING_MAX} being built at once; its connection's own output must be under its mark too
 * ({@link FsOutputWaits}). A request that cannot start waits, and starts when its connection's output
 * resumes or when this gate has room again ({@link #roomBack}).
 */
final class FsAnswerGate {
    /** Large answers built at once, agent-wide. */
    static final int BUILDING_MAX = 4;

    private int building;
    private BooleanSupplier agentOverBudget = () -> false;
    /** Connections with a large answer waiting for room, in the order they asked. */
    private final Set<FsOutputWaits> waiting = new LinkedHashSet<>();

    /** Whether every host's queues together are past the agent's budget now. */
    void limitBy(BooleanSupplier agentOverBudget) {
        this.agentOverBudget = agentOverBudget;
    }

    /** Takes room for one large answer; false (and {@code waits} is told when there is room) when there is none. */
    boolean tryStart(FsOutputWaits waits) {
        if (building >= BUILDING_MAX || agentOverBudget.getAsBoolean()) {
            waiting.add(waits);
            return false;
        }
        building++;
        return true;
    }

    /** A large answer taken with {@link #tryStart} is queued for its host, or dropped: its room comes back. */
    void done() {
        building--;
        roomBack();
    }

    /** A connection that ended waits no more. */
    void forget(FsOutputWaits waits) {
        waiting.remove(waits);
    }

    /**
     * There may be room again (an answer done, the hosts' queues back within the budget): every
     * connection waiting tries again, in order; one that still finds none waits again.
     */
    void roomBack() {
        if (waiting.isEmpty()) {
            return;
        }
        List<FsOutputWaits> trying = new ArrayList<>(waiting);
        waiting.clear();
        for (FsOutputWaits waits : trying) {
            waits.startWaitingAnswers();
        }
    }

    /** Large answers being built now (tests). */
    int building() {
        return building;
    }
}
