package io.agentd.protocol.payload;

/**
 * The ids {@code [idStart, idEndExclusive)} of one relay client (u32 each): the payload of
 * core.relay.client.disconnected (PROTOCOL.md, "Relay notice": that client is gone) and of the
 * extension's core.relay.client.paused / resumed (docs/PROTOCOL-EXTENSIONS.md, "Relay flow control").
 */
public record RelayClientRange(long idStart, long idEndExclusive) implements Payload {
    public static final long U32_MAX = 0xFFFF_FFFFL;

    /** Whether {@code id} is one of the ids this notice names. */
    public boolean covers(long id) {
        return id >= idStart && id < idEndExclusive;
    }
}
