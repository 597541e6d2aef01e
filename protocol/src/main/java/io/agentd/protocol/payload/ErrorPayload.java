package io.agentd.protocol.payload;

/** core.error: kind is an {@link io.agentd.protocol.ErrorKind} wire string; offendingType may be null. */
public record ErrorPayload(String kind, String message, String offendingType) implements Payload {}
