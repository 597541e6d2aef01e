package io.agentd.protocol.payload;

/** The `{}` payload of core.ping, core.pong and core.touch. */
public record Empty() implements Payload {
    public static final Empty INSTANCE = new Empty();
}
