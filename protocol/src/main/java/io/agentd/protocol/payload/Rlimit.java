package io.agentd.protocol.payload;

/** One requested resource limit; soft and hard are u64 (RLIM_INFINITY = -1L). */
public record Rlimit(String resource, long soft, long hard) {
    public static final long INFINITY = -1L;
}
