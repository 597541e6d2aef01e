package io.agentd.protocol.payload;

/**
 * core.relay.client.disconnected: the relay client that owned the ids {@code [idStart,
 * idEndExclusive)} is gone (u32 each; PROTOCOL.md, "Relay notice").
 */
public record RelayClientDisconnected(long idStart, long idEndExclusive) implements Payload {
    public static final long U32_MAX = 0xFFFF_FFFFL;

    /** Whether {@code id} is one of the ids this notice names. */
    public boolean covers(long id) {
        return id >= idStart && id < idEndExclusive;
    }
}
