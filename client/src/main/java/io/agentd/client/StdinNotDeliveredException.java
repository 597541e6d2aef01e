package io.agentd.client;

import io.agentd.protocol.payload.ExecStdinError;

/**
 * The process did not get all of the stdin it was sent: the agent answered core.exec.stdin.error
 * (e.g. {@code ENOBUFS}: its queue for the session was full; {@code EPIPE}: the process closed its
 * stdin or exited with input still queued), or the session ended before the client had sent it
 * all. What the process read is a prefix of what was sent. Once a session has had one, every later
 * write to its stdin fails with it; closing its stdin still works.
 *
 * <p>From {@link AgentClient#run}, {@link #result} holds what the process did anyway.
 */
public final class StdinNotDeliveredException extends AgentException {
    private static final long serialVersionUID = 1L;

    private final Integer errno;
    private final String errnoName;
    private final String agentMessage;
    private final transient ExecResult result;

    /** The agent's core.exec.stdin.error for session {@code id}. */
    StdinNotDeliveredException(long id, ExecStdinError error) {
        this(error.errno(), error.errnoName(), error.message(),
                "session " + id + ": the agent did not deliver stdin in full", null);
    }

    private StdinNotDeliveredException(Integer errno, String errnoName, String agentMessage, String context,
            ExecResult result) {
        super(context + ": " + reason(errno, errnoName, agentMessage));
        this.errno = errno;
        this.errnoName = errnoName;
        this.agentMessage = agentMessage;
        this.result = result;
    }

    /** The session ended before the client had sent {@code unsent} of the {@code total} bytes. */
    static StdinNotDeliveredException endedBeforeSent(long id, long unsent, long total) {
        return new StdinNotDeliveredException(null, "EPIPE",
                "the session ended before " + unsent + " of " + total + " bytes of stdin were sent",
                "session " + id + ": stdin not delivered in full", null);
    }

    /** The same failure, with the outcome of the run it spoiled. */
    StdinNotDeliveredException withResult(ExecResult result) {
        StdinNotDeliveredException e = new StdinNotDeliveredException(errno, errnoName, agentMessage,
                "stdin not delivered in full", result);
        e.initCause(this);
        return e;
    }

    /**
     * Why, without the session: the errno's name (else "errno N", else "error") and the agent's
     * message when it gave one, e.g. {@code ENOBUFS: queue full}. getMessage() ends with it.
     */
    public String reason() {
        return reason(errno, errnoName, agentMessage);
    }

    private static String reason(Integer errno, String errnoName, String agentMessage) {
        return (errnoName != null ? errnoName : errno != null ? "errno " + errno : "error")
                + (agentMessage != null && !agentMessage.isEmpty() ? ": " + agentMessage : "");
    }

    /** The errno the agent reported, or null. */
    public Integer errno() {
        return errno;
    }

    /** The errno's symbolic name (e.g. "ENOBUFS", "EPIPE"), or null when the agent gave none. */
    public String errnoName() {
        return errnoName;
    }

    /** The agent's message alone (getMessage() adds the session and the errno name). */
    public String agentMessage() {
        return agentMessage;
    }

    /** The exit status and output of the session, when {@link AgentClient#run} threw this; else null. */
    public ExecResult result() {
        return result;
    }

    /** {@link #forCaller}'s copy of {@code recorded}. */
    private StdinNotDeliveredException(StdinNotDeliveredException recorded) {
        super(recorded.getMessage(), recorded);
        this.errno = recorded.errno;
        this.errnoName = recorded.errnoName;
        this.agentMessage = recorded.agentMessage;
        this.result = recorded.result;
    }

    @Override
    public StdinNotDeliveredException forCaller() {
        return new StdinNotDeliveredException(this);
    }
}
