package io.agentd.client;

/**
 * How a session's process ended (core.exec.exited).
 *
 * @param code     exit code; 128 + signal for a signal death
 * @param signal   the signal that killed it, or null for a normal exit (or an agent that does not say)
 * @param timedOut true when the agent killed it at the request's timeout_ms
 */
public record ExitStatus(int code, Integer signal, boolean timedOut) {}
