package io.agentd.client;

import java.io.IOException;

/**
 * Something the agent (or the connection to it) did that ends a call or a session. The subclasses say
 * what: {@link ExecFailedException} (the program never ran), {@link AgentErrorException} (the agent
 * refused a frame with core.error), {@link ConnectionLostException} (the connection is gone),
 * {@link AgentTimeoutException} (the agent said nothing within a call's timeout). A plain
 * AgentException means the agent broke the protocol or the session has already ended.
 */
public class AgentException extends IOException {
    private static final long serialVersionUID = 1L;

    public AgentException(String message) {
        super(message);
    }

    public AgentException(String message, Throwable cause) {
        super(message, cause);
    }
}
