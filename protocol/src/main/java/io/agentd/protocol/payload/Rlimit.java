package io.agentd.protocol.payload;

/** One requested resource limit; soft and hard are u64 (RLIM_INFINITY = -1L). */
public record Rlimit(String resource, long soft, long hard) {
    public static final long INFINITY = -1L;

    /** A limit's value as messages show it: RLIM_INFINITY is "unlimited", any other the u64's digits. */
    public static String text(long value) {
        return value == INFINITY ? "unlimited" : Long.toUnsignedString(value);
    }
}
