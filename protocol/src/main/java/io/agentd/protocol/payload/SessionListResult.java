package io.agentd.protocol.payload;

import java.util.List;

/** core.session.list.result: every session the agent still knows, of every connection. */
public record SessionListResult(List<SessionInfo> sessions) implements Payload {
    public SessionListResult {
        sessions = sessions == null ? List.of() : List.copyOf(sessions);
    }
}
