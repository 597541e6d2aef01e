package io.agentd.protocol.payload;

/** core.touched: the agent's activity counter, increasing. */
public record Touched(long activitySeq) implements Payload {}
