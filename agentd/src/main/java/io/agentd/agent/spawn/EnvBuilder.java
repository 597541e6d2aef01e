package io.agentd.agent.spawn;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds a child's environment: a minimal default (PATH, LANG; TERM for PTY sessions), then the
 * agent's configured defaults, then the request's entries on top. Never the JVM's own environment.
 *
 * <p>HOME is deliberately not in the minimal default: when neither the agent's defaults nor the
 * request set it, {@link Spawner} sets it from the target user's passwd entry (DESIGN.md decision 2).
 * A later entry replaces an earlier one with the same name, keeping its position. Entries without
 * '=' are passed through unchanged so that they are refused as bad_args rather than dropped here
 * (a request's own are checked before the merge, by {@link SpawnSpec#from}, to be named by the
 * host's index; {@link Spawner#start} checks the merged list again).
 */
public final class EnvBuilder {
    public static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    public static final String DEFAULT_LANG = "C.UTF-8";
    public static final String PTY_TERM = "xterm-256color";

    private EnvBuilder() {}

    public static List<String> build(List<String> agentDefaults, List<String> requestEnv, boolean tty) {
        Map<String, String> byName = new LinkedHashMap<>();
        put(byName, "PATH=" + DEFAULT_PATH);
        put(byName, "LANG=" + DEFAULT_LANG);
        if (tty) {
            put(byName, "TERM=" + PTY_TERM);
        }
        agentDefaults.forEach(entry -> put(byName, entry));
        requestEnv.forEach(entry -> put(byName, entry));
        return List.copyOf(byName.values());
    }

    private static void put(Map<String, String> byName, String entry) {
        int eq = entry.indexOf('=');
        byName.put(eq < 0 ? entry : entry.substring(0, eq), entry);
    }
}
