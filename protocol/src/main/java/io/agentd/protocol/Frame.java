package io.agentd.protocol;

import io.agentd.protocol.payload.Payload;

/**
 * One decoded (or to-be-encoded) message: the id it travels on, its type and its payload.
 * The flags byte is not stored: it is fixed by the type ({@link MessageType#flags()}).
 *
 * @param id      unsigned 32-bit id, held in a long (0 .. 2^32-1); 0 is the control channel
 * @param type    the message type
 * @param payload the payload record of that type ({@link MessageType} -> record table in
 *                {@link io.agentd.protocol.payload.Payloads}); null only for core.shutdown
 */
public record Frame(long id, MessageType type, Payload payload) {
    public Frame {
        if (id < 0 || id > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("frame id out of u32 range: " + id);
        }
        if (type == null) {
            throw new IllegalArgumentException("frame type is required");
        }
    }

    public int flags() {
        return type.flags();
    }

    public boolean isTerminal() {
        return (type.flags() & Flags.TERMINAL) != 0;
    }
}
