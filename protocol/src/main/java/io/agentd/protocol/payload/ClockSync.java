package io.agentd.protocol.payload;

/** core.clock.sync: the host's wall clock in ns since the Unix epoch (u64). */
public record ClockSync(long unixTimeNanos) implements Payload {}
