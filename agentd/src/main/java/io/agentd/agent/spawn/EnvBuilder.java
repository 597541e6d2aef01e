package io.agentd.agent.spawn;

import java.util.List;

/**
 * Builds a child's environment: a minimal default (PATH, HOME, LANG; TERM for PTY sessions), then the
 * agent's configured defaults, then the request's entries on top. Never the JVM's own environment.
 */
public final class EnvBuilder {
    private EnvBuilder() {}

    public static List<String> build(List<String> agentDefaults, List<String> requestEnv, boolean tty) {
        throw new UnsupportedOperationException("TODO");
    }
}
