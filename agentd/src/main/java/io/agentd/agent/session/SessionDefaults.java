package io.agentd.agent.session;

import io.agentd.agent.spawn.Profile;
import io.agentd.agent.spawn.SpawnSpec;
import io.agentd.agent.spawn.UserDb;
import io.agentd.agent.sys.Os;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What every session gets unless its request says otherwise, and the session timings.
 *
 * @param user        default user ("name", "uid", "name:group", "uid:gid"), or null for the agent's own
 * @param cwd         default working directory, or null for the agent's own
 * @param env         default environment entries ("K=V"), under the request's own
 * @param profile     the security profile of every session; a request may ask for a stricter one
 * @param drainMillis how long output fds still held by descendants are read after the leader exits
 * @param graceMillis time between SIGTERM and SIGKILL (timeouts and shutdown)
 * @param stdinLimit  most stdin bytes queued for one session; more is refused with stdin.error
 * @param stdinTotalLimit most stdin bytes queued for all sessions together (the per-session bound
 *                    alone does not bound memory when many sessions have children that do not read)
 * @param stdinWindow the stdin credit a flow-controlled session is granted and kept topped up to
 *                    (at most stdinLimit)
 */
public record SessionDefaults(
        String user,
        String cwd,
        List<String> env,
        Profile profile,
        long drainMillis,
        long graceMillis,
        long stdinLimit,
        long stdinTotalLimit,
        long stdinWindow) implements SpawnSpec.Defaults {

    /** The stdin window when none is configured, or the per-session limit if that is smaller. */
    public static final long DEFAULT_STDIN_WINDOW = 1L << 20;

    public SessionDefaults {
        env = List.copyOf(env);
        if (stdinWindow <= 0 || stdinWindow > stdinLimit) {
            throw new IllegalArgumentException("stdin window " + stdinWindow + " is not within 1.." + stdinLimit);
        }
    }

    /** Defaults with the default stdin window (or the per-session limit, if smaller). */
    public SessionDefaults(String user, String cwd, List<String> env, Profile profile, long drainMillis,
            long graceMillis, long stdinLimit, long stdinTotalLimit) {
        this(user, cwd, env, profile, drainMillis, graceMillis, stdinLimit, stdinTotalLimit,
                Math.min(DEFAULT_STDIN_WINDOW, stdinLimit));
    }

    /**
     * What of {@code --user} and {@code --cwd} cannot be used now, one line each, for the start's log:
     * every request that names no user or cwd of its own would fail on it, each with its own
     * answer, and an operator looking at the start would not know. Not a refusal: the user or the
     * directory may come later (made by a host through the agent, or a mount).
     */
    public List<String> unusableNow(UserDb users) {
        List<String> problems = new ArrayList<>();
        if (user != null) {
            try {
                users.resolve(user);
            } catch (UserDb.LookupFailure f) {
                String what = f.errno() != 0 ? "cannot be looked up (" + f.stage() + ": " + Os.errnoName(f.errno()) + ")"
                        : f.stage().equals("getgrnam") ? "names a group that does not exist"
                        : f.stage().equals(UserDb.RESERVED_UID_STAGE) ? UserDb.RESERVED_UID_IS
                        : "names a user that does not exist";
                problems.add("--user " + user + " " + what + ": requests that name no user of their own will fail"
                        + " until it does");
            }
        }
        if (cwd != null && !Files.isDirectory(Path.of(cwd))) {
            problems.add("--cwd " + cwd + " is not a directory: requests that name no cwd of their own will fail"
                    + " until it is");
        }
        return problems;
    }
}
