package io.agentd.protocol.payload;

import java.util.List;

/**
 * One session in a {@link SessionListResult} (docs/PROTOCOL-EXTENSIONS.md, "Sessions").
 *
 * @param session        the agent-wide session number (unique for the agent's life)
 * @param pid            the session leader's pid (u32)
 * @param cmd            the command as requested
 * @param args           its arguments (the agent may shorten a long list, see the extension's text)
 * @param tty            whether it runs on a PTY
 * @param user           the user it runs as, or null for the agent's
 * @param state          {@link #RUNNING} or {@link #EXITED}
 * @param startedUnixMs  when it started, ms since the epoch
 * @param exitCode       its exit code once exited, else null
 * @param signal         the signal that killed it, else null
 * @param bytesOut       every output byte so far (stdout and stderr together)
 * @param retainedStart  offset of the oldest output byte still kept
 * @param retainedEnd    offset just past the newest kept byte (equal to bytesOut)
 * @param dropped        output bytes dropped from the buffer before anyone read them
 * @param attached       whether a host is attached to it now
 * @param detachable     whether its request asked for {@code detachable}
 */
public record SessionInfo(long session, long pid, String cmd, List<String> args, boolean tty, String user,
        String state, long startedUnixMs, Integer exitCode, Integer signal, long bytesOut, long retainedStart,
        long retainedEnd, long dropped, boolean attached, boolean detachable) {

    public static final String RUNNING = "running";
    public static final String EXITED = "exited";

    public SessionInfo {
        args = args == null ? List.of() : List.copyOf(args);
    }

    /** Whether the session is still running (an unknown state from a newer agent counts as running). */
    public boolean running() {
        return !EXITED.equals(state);
    }
}
