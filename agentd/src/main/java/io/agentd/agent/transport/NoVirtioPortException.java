package io.agentd.agent.transport;

import java.io.IOException;

/**
 * There is no virtio port to serve: no virtio ports at all, or none of the name looked for. Outside a
 * guest this is the usual failure of a bare start, which Main answers by saying what serves on a host;
 * typed so that it knows the case without reading the message.
 */
public final class NoVirtioPortException extends IOException {
    private static final long serialVersionUID = 1L;

    public NoVirtioPortException(String message) {
        super(message);
    }

    /** {@code cause}, said again with more (how long the start looked for the port). */
    NoVirtioPortException(String message, NoVirtioPortException cause) {
        super(message, cause);
    }
}
