package io.agentd.agent.session;

import io.agentd.agent.loop.EventLoop;
import io.agentd.agent.spawn.Spawner;

/** The agent's sessions, each spawn (on the spawner thread) run through {@code beforeEachSpawn} first: a spawn held up, as on a hung mount. */
public final class SlowSpawns {
    private SlowSpawns() {}

    public static Sessions sessions(EventLoop loop, Spawner spawner, SessionDefaults defaults,
            Runnable beforeEachSpawn) {
        return new Sessions(loop, (spec, cgroupFd) -> {
            beforeEachSpawn.run();
            return spawner.startSession(spec, cgroupFd);
        }, new OffLoopSpawns(loop::execute), defaults, SessionIo.SYSTEM);
    }
}
