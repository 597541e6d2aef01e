package io.agentd.client;

import java.io.IOException;

/**
 * Something the agent (or the connection to it) did that ends a call or a session. The subclasses say
 * what: {@link ExecFailedException} (the program never ran), {@link AgentErrorException} (the agent
 * refused a frame with core.error), {@link ConnectionLostException} (the connection is gone),
 * {@link AgentTimeoutException} (the agent said nothing within a call's timeout). A plain
 * AgentException means the agent broke the protocol or the session has already ended.
 *
 * <p>A failure the connection's reader thread records for a call or session (the connection lost,
 * an exec failed) is thrown to each caller that meets it as {@link #forCaller}: a new exception of
 * the same type, message and details, thrown from the caller's own stack, with the recorded one as
 * its cause.
 */
public class AgentException extends IOException {
    private static final long serialVersionUID = 1L;

    public AgentException(String message) {
        super(message);
    }

    public AgentException(String message, Throwable cause) {
        super(message, cause);
    }

    /**
     * This failure again, for the caller that meets it: of the same type (each subclass returns its
     * own), message and details, with this one as its cause. The recorded instance was made on the
     * reader thread and is met by every waiter: thrown as it was, its stack trace showed none of the
     * caller's frames, and what one caller did to it (addSuppressed, as GuestFiles.upload does)
     * changed it for all.
     */
    public AgentException forCaller() {
        return new AgentException(getMessage(), this);
    }
}
