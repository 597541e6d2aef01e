package io.agentd.protocol.payload;

/** core.ready: times in ns (boot = since kernel boot, CLOCK_BOOTTIME), agent_version omitted if empty. */
public record Ready(long bootTimeNs, long initTimeNs, long readyTimeNs, String agentVersion) implements Payload {}
