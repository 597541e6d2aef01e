package io.agentd.protocol.payload;

import java.util.List;

/**
 * core.exec.request. Defaults for missing fields: args [], env [], cwd null, user null, tty false,
 * rows 24, cols 80, rlimits []. rows/cols are u16 (range-checked by the codec).
 *
 * @param timeoutMs extension: deadline in ms after start (SIGTERM to the group, SIGKILL after the
 *                  grace); null = none. Omitted from the encoding when null.
 * @param stdinWindow extension: the host asks for stdin flow control (core.exec.stdin.credit) and
 *                  will never send more stdin than the agent granted. Omitted when false.
 * @param profile   extension: the security profile for this command ("default", "restricted",
 *                  "strict"); the agent runs it under this one or its own, whichever is stricter,
 *                  and refuses one weaker than its own. null = the agent's. Omitted when null.
 * @param memoryMax extension: the session cgroup's memory.max in bytes; null = no limit (omitted)
 * @param pidsMax   extension: the session cgroup's pids.max (tasks at once); null = no limit (omitted)
 * @param detachable extension ("sessions"): the session survives its host's departure and keeps its
 *                  recent output for a later core.session.attach. Omitted when false.
 * @param startDetached extension ("sessions", with {@code detachable} only): the host wants only
 *                  core.exec.started; the agent detaches the session from this host right after it
 *                  (its output from byte 0 is kept for an attach, its exit held, its id free again).
 *                  The agent refuses it without {@code detachable} (exec.failed bad_args). Omitted
 *                  when false; follows {@code detachable}.
 */
public record ExecRequest(
        String cmd,
        List<String> args,
        List<String> env,
        String cwd,
        String user,
        boolean tty,
        int rows,
        int cols,
        List<Rlimit> rlimits,
        Long timeoutMs,
        boolean stdinWindow,
        String profile,
        Long memoryMax,
        Long pidsMax,
        boolean detachable,
        boolean startDetached) implements Payload {

    public static final int DEFAULT_ROWS = 24;
    public static final int DEFAULT_COLS = 80;

    public ExecRequest {
        args = args == null ? List.of() : List.copyOf(args);
        env = env == null ? List.of() : List.copyOf(env);
        rlimits = rlimits == null ? List.of() : List.copyOf(rlimits);
    }

    /** A request without start_detached (the form before it existed). */
    public ExecRequest(String cmd, List<String> args, List<String> env, String cwd, String user, boolean tty,
            int rows, int cols, List<Rlimit> rlimits, Long timeoutMs, boolean stdinWindow, String profile,
            Long memoryMax, Long pidsMax, boolean detachable) {
        this(cmd, args, env, cwd, user, tty, rows, cols, rlimits, timeoutMs, stdinWindow, profile, memoryMax, pidsMax,
                detachable, false);
    }

    /** A request without the detachable extension. */
    public ExecRequest(String cmd, List<String> args, List<String> env, String cwd, String user, boolean tty,
            int rows, int cols, List<Rlimit> rlimits, Long timeoutMs, boolean stdinWindow, String profile,
            Long memoryMax, Long pidsMax) {
        this(cmd, args, env, cwd, user, tty, rows, cols, rlimits, timeoutMs, stdinWindow, profile, memoryMax, pidsMax,
                false);
    }

    /** A request without the profile and limits extensions. */
    public ExecRequest(String cmd, List<String> args, List<String> env, String cwd, String user, boolean tty,
            int rows, int cols, List<Rlimit> rlimits, Long timeoutMs, boolean stdinWindow) {
        this(cmd, args, env, cwd, user, tty, rows, cols, rlimits, timeoutMs, stdinWindow, null, null, null);
    }

    /** A request without the stdin_window, profile and limits extensions. */
    public ExecRequest(String cmd, List<String> args, List<String> env, String cwd, String user, boolean tty,
            int rows, int cols, List<Rlimit> rlimits, Long timeoutMs) {
        this(cmd, args, env, cwd, user, tty, rows, cols, rlimits, timeoutMs, false);
    }

    /** The same request asking (or not) for stdin flow control. */
    public ExecRequest withStdinWindow(boolean on) {
        return new ExecRequest(cmd, args, env, cwd, user, tty, rows, cols, rlimits, timeoutMs, on, profile,
                memoryMax, pidsMax, detachable, startDetached);
    }

    /** The same request asking for a security profile (null: the agent's). */
    public ExecRequest withProfile(String name) {
        return new ExecRequest(cmd, args, env, cwd, user, tty, rows, cols, rlimits, timeoutMs, stdinWindow, name,
                memoryMax, pidsMax, detachable, startDetached);
    }

    /** The same request with these cgroup limits (null: none). */
    public ExecRequest withLimits(Long memoryMax, Long pidsMax) {
        return new ExecRequest(cmd, args, env, cwd, user, tty, rows, cols, rlimits, timeoutMs, stdinWindow,
                profile, memoryMax, pidsMax, detachable, startDetached);
    }

    /** The same request asking (or not) for a detachable session. */
    public ExecRequest withDetachable(boolean on) {
        return new ExecRequest(cmd, args, env, cwd, user, tty, rows, cols, rlimits, timeoutMs, stdinWindow,
                profile, memoryMax, pidsMax, on, startDetached);
    }

    /**
     * The same request asking (or not) to be detached from this host as soon as it has started
     * (sessions extension; only with {@link #withDetachable}): the host gets core.exec.started and
     * nothing more on the id, and reads the session with core.session.attach.
     */
    public ExecRequest withStartDetached(boolean on) {
        return new ExecRequest(cmd, args, env, cwd, user, tty, rows, cols, rlimits, timeoutMs, stdinWindow,
                profile, memoryMax, pidsMax, detachable, on);
    }

    /** A pipe-mode request with defaults for everything but cmd and args. */
    public static ExecRequest of(String cmd, String... args) {
        return new ExecRequest(cmd, List.of(args), List.of(), null, null, false,
                DEFAULT_ROWS, DEFAULT_COLS, List.of(), null);
    }
}
