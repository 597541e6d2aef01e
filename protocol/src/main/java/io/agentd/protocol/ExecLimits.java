package io.agentd.protocol;

/**
 * The limits on a core.exec.request (docs/PROTOCOL-EXTENSIONS.md, "Request limits"). The codec
 * enforces them while it decodes the request, so an oversized one is refused before its strings are
 * built ({@link ErrorKind#LIMIT_EXCEEDED}); the agent can rely on every decoded request being within
 * them when it copies the strings into C memory for exec.
 */
public final class ExecLimits {
    /** Bytes of {@code cmd}: PATH_MAX, the longest path the kernel resolves. */
    public static final int CMD_MAX_BYTES = 4096;
    /** Bytes of {@code cwd}: PATH_MAX. */
    public static final int CWD_MAX_BYTES = 4096;
    /** Bytes of {@code user} (a name or uid:gid). */
    public static final int USER_MAX_BYTES = 512;
    /** Bytes of the {@code profile} extension (a profile name). */
    public static final int PROFILE_MAX_BYTES = 64;
    /** Entries of {@code args}. */
    public static final int ARGS_MAX_ENTRIES = 32768;
    /** Entries of {@code env}. */
    public static final int ENV_MAX_ENTRIES = 8192;
    /** Entries of {@code rlimits}. */
    public static final int RLIMITS_MAX_ENTRIES = 64;
    /** cmd + args + env together, each string counted by {@link #argEnvCost}: the kernel's ARG_MAX bound. */
    public static final int ARG_ENV_MAX_BYTES = 2 * 1024 * 1024;

    /** What exec costs a string beyond its bytes: its NUL terminator and its pointer in argv/envp. */
    private static final int PER_STRING_COST = 1 + 8;

    private ExecLimits() {}

    /** What a string of {@code utf8Bytes} bytes counts against {@link #ARG_ENV_MAX_BYTES}. */
    public static long argEnvCost(long utf8Bytes) {
        return utf8Bytes + PER_STRING_COST;
    }
}
