package io.agentd.agent.spawn;

import java.nio.file.Path;

/**
 * Starts commands through the exec helper (native-shim) with posix_spawnp; the JVM never forks.
 * Thread-safe.
 */
public final class Spawner {

    /** @param helper path of the agentd-exec-helper binary */
    public Spawner(Path helper) {
        throw new UnsupportedOperationException("TODO");
    }

    /**
     * Validates the spec, allocates pipes or the PTY, and posix_spawnp's the helper. Returns at once
     * (it does not wait for the target's exec). Validation, PTY and spawn failures are thrown.
     */
    public Child start(SpawnSpec spec) throws SpawnFailure {
        throw new UnsupportedOperationException("TODO");
    }

    /**
     * Blocking convenience for tests and simple callers: {@link #start}, then reads the exec report
     * to EOF. On a pre-exec failure the child is reaped and its fds closed before the throw.
     */
    public Child startAndAwaitExec(SpawnSpec spec) throws SpawnFailure {
        throw new UnsupportedOperationException("TODO");
    }
}
