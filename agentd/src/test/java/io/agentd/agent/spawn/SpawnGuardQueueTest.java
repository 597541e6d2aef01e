package io.agentd.agent.spawn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.ScheduledFuture;
import org.junit.jupiter.api.Test;

/**
 * A spawn's watch is cancelled when the spawn returns, long before its first look: it must leave
 * the guard's queue then, since it holds the spawn's ShimSpec (native argv and envp, up to ~4 MiB).
 */
class SpawnGuardQueueTest {
    @Test
    void cancelledWatchesLeaveTheQueueAtOnce() {
        SpawnGuard guard = new SpawnGuard();
        for (int i = 0; i < 1000; i++) {
            ScheduledFuture<?> watch = guard.watch(() -> 0);
            watch.cancel(false);
        }
        assertEquals(0, guard.queued(), "no cancelled watch (nor what it holds) waits out its delay");

        ScheduledFuture<?> live = guard.watch(() -> 0);
        assertEquals(1, guard.queued(), "a live watch stays");
        live.cancel(false);
        assertEquals(0, guard.queued());
    }
}
