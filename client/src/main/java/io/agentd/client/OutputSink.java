package io.agentd.client;

/**
 * Where a session's output goes, chosen when it starts: a listener, the chunk queue of
 * {@link ExecSession#nextOutput}, or the streams of {@link ExecSession#stdout()} and
 * {@link ExecSession#stderr()}. Called on the connection's reader thread, in the agent's order.
 */
interface OutputSink {

    void deliver(Output output);

    /** True when nothing keeps an output's data array once {@link #deliver} returned (it may be reused). */
    default boolean releasesData() {
        return false;
    }

    /**
     * The session is over and its exit has completed; no output follows. {@code cutShortBy} is the
     * failure that ended a session that may have had more output (a lost connection), else null.
     */
    void end(AgentException cutShortBy);
}
