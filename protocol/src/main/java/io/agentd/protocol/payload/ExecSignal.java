package io.agentd.protocol.payload;

/** core.exec.signal: delivered to the session's process group. */
public record ExecSignal(int signal) implements Payload {}
