package io.agentd.protocol.payload;

/** core.exec.started: the pid (u32) of the session leader. */
public record ExecStarted(long pid) implements Payload {}
