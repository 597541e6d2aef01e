package io.agentd.protocol.payload;

/** core.exec.resize: u16 rows and cols. */
public record ExecResize(int rows, int cols) implements Payload {}
