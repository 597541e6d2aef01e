package io.agentd.protocol.payload;

import java.util.List;

/**
 * core.session.list.result: the sessions the agent still knows, of every connection, in number
 * order.
 *
 * @param omitted extension: how many more sessions (the newest) were left out so that the answer
 *                fits one frame; 0 (not written) when the list is whole
 */
public record SessionListResult(List<SessionInfo> sessions, long omitted) implements Payload {
    public SessionListResult {
        sessions = sessions == null ? List.of() : List.copyOf(sessions);
        if (omitted < 0) {
            throw new IllegalArgumentException("omitted " + omitted + " is negative");
        }
    }

    /** A whole list. */
    public SessionListResult(List<SessionInfo> sessions) {
        this(sessions, 0);
    }
}
