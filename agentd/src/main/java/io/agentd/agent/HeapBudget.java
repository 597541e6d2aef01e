package io.agentd.agent;

import io.agentd.agent.transport.LargeFrameBudget;

/**
 * Whether the heap the JVM may grow to holds every byte budget the agent enforces, all full at
 * once: kept session output (--session-buffer-total), queued stdin (--stdin-total), large frames
 * being read ({@link LargeFrameBudget}), and {@link #OTHER_BYTES} for everything else (sessions'
 * records, connections, the codec, garbage not yet collected). Each budget is enforced on its own,
 * so a host that fills all three at once reaches their sum; if that is past the heap, the host ends
 * the agent with an OutOfMemoryError, and every session of every host with it (a hostile review
 * did this with the launcher's old -Xmx160m; its -Xmx256m holds the defaults). Checked once at
 * start, and said in a warning: the agent still runs (tests run it on small heaps on purpose, to
 * show that one kind of flood stays within them), but the operator learns which option to change.
 */
final class HeapBudget {
    /**
     * The heap the agent uses beyond those budgets, with room to spare: 10,000 sessions at once
     * peak at about 72 MiB of RSS in all (BENCHMARKS.md), of which the heap is a part.
     */
    static final long OTHER_BYTES = 64L << 20;

    private HeapBudget() {}

    /** The heap every budget needs when full together. */
    static long needed(AgentOptions options) {
        return options.retention().totalBuffer() + options.sessionDefaults().stdinTotalLimit()
                + LargeFrameBudget.DEFAULT_BYTES + OTHER_BYTES;
    }

    /** What {@code maxHeap} bytes of heap (Runtime.maxMemory()) lack for the budgets, or null when they hold them. */
    static String shortfall(AgentOptions options, long maxHeap) {
        long needed = needed(options);
        if (needed <= maxHeap) {
            return null;
        }
        return "the heap may grow to " + mib(maxHeap) + " only, and the agent's budgets need " + mib(needed)
                + " when a host fills them together (--session-buffer-total "
                + mib(options.retention().totalBuffer()) + ", --stdin-total "
                + mib(options.sessionDefaults().stdinTotalLimit()) + ", large frames being read "
                + mib(LargeFrameBudget.DEFAULT_BYTES) + ", the rest of the agent " + mib(OTHER_BYTES)
                + "), and such a host can exhaust the heap and end the agent: give the JVM more (-Xmx in"
                + " JAVA_OPTS) or lower those options";
    }

    private static String mib(long bytes) {
        return (bytes + (1L << 20) - 1 >> 20) + " MiB";
    }
}
