package io.agentd.client.relay;

import io.agentd.protocol.Protocol;
import java.nio.ByteBuffer;

/**
 * The 8 bytes a relay sends a client before anything else: {@code [id_start u32 BE][id_end_exclusive
 * u32 BE]}, the client's ids. A client tells them from an agent's first frame ({@code [len u32][id
 * u32]...}) by both halves: an agent's first u32 is a legal frame length and its first frame travels
 * on id 0 (core.ready); a greeting's end is never 0, and its start is not a legal frame length (slot
 * 0 starts at 1, every other slot above 32 Mi, while frames end at 4 MiB). Checking both keeps an
 * agent whose first frame is on another id (output of a session a previous host left running on a
 * virtio port) from being taken for a relay.
 */
public final class RelayGreeting {
    public static final int BYTES = 8;

    private RelayGreeting() {}

    /** The greeting that gives a client {@code range}. */
    public static ByteBuffer encode(IdRange range) {
        return ByteBuffer.allocate(BYTES).putInt((int) range.start()).putInt((int) range.endExclusive()).flip();
    }

    /**
     * The range a connection's first 8 bytes give, or null when they are the start of a frame (an
     * agent, not a relay).
     */
    public static IdRange parse(byte[] first) {
        if (first.length != BYTES) {
            throw new IllegalArgumentException("a greeting is " + BYTES + " bytes, not " + first.length);
        }
        ByteBuffer b = ByteBuffer.wrap(first);
        long start = Integer.toUnsignedLong(b.getInt());
        long end = Integer.toUnsignedLong(b.getInt());
        boolean legalFrameLength = start >= Protocol.MIN_FRAME_LEN && start <= Protocol.MAX_FRAME_LEN;
        if (end == 0 || legalFrameLength || start == 0 || end <= start) {
            return null;
        }
        return new IdRange(start, end);
    }
}
