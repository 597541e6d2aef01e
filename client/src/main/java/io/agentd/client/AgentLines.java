package io.agentd.client;

import org.slf4j.Logger;

/**
 * The log lines the agent can cause one per frame on one connection, each kind limited
 * ({@link AgentLineLimit}): a core.error on id 0 that names no call, an undecodable frame, and a
 * frame a session or an fs request does not expect. The reader reports the counts left out after
 * each read; whoever ends the connection reports them at once.
 */
final class AgentLines {
    final AgentLineLimit controlErrors;
    final AgentLineLimit undecodable;
    final AgentLineLimit unexpected;

    AgentLines(Logger log, String peer) {
        this.controlErrors = new AgentLineLimit(log, "core.error frames on id 0 from the agent at " + peer);
        this.undecodable = new AgentLineLimit(log, "undecodable frames from the agent at " + peer);
        this.unexpected = new AgentLineLimit(log, "frames a session or fs request did not expect from the agent at "
                + peer);
    }

    /** The reader, after each read: the counts of lines left out whose interval is over. */
    void reportIfDue() {
        controlErrors.reportIfDue();
        undecodable.reportIfDue();
        unexpected.reportIfDue();
    }

    /** The connection ended: the counts of lines left out, now. */
    void reportNow() {
        controlErrors.reportNow();
        undecodable.reportNow();
        unexpected.reportNow();
    }
}
