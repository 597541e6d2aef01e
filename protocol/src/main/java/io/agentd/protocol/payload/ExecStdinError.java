package io.agentd.protocol.payload;

/** core.exec.stdin.error (not terminal): errno and its name may be null. */
public record ExecStdinError(Integer errno, String errnoName, String message) implements Payload {}
