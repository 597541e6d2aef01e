package io.agentd.protocol.payload;

/**
 * The ids {@code [idStart, idEndExclusive)} of one relay client (u32 each): the payload of
 * core.relay.client.disconnected (PROTOCOL.md, "Relay notice": that client is gone) and of the
 * extension's core.relay.client.paused / resumed (docs/PROTOCOL-EXTENSIONS.md, "Relay flow control").
 */
public record RelayClientRange(long idStart, long idEndExclusive) implements Payload {
    public static final long U32_MAX = 0xFFFF_FFFFL;
    /**
     * The most ranges an agent holds for one connection at once (relay flow control): a relay's 128
     * clients, and the single sessions each may hold of its own. One more pause is refused.
     */
    public static final int MAX_HELD_PER_CONNECTION = 1024;

    /**
     * Why a notice of {@code [idStart, idEndExclusive)} with {@code idStart >= idEndExclusive} is
     * refused: it names no ids. One wording for both who refuse one: the codec a reversed range, the
     * agent {@code [N, N)} (PROTOCOL-EXTENSIONS.md calls both an empty range).
     */
    public static String namesNoIds(long idStart, long idEndExclusive) {
        return "id_start " + idStart + " is not below id_end_exclusive " + idEndExclusive + ": no ids";
    }

    /** Whether {@code id} is one of the ids this notice names. */
    public boolean covers(long id) {
        return id >= idStart && id < idEndExclusive;
    }
}
