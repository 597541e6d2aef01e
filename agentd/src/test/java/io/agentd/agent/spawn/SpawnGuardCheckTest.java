package io.agentd.agent.spawn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The guard's look at a stopped child when no pidfd can be had (a kernel before 5.3, or the agent
 * at its open-file limit): it kills the child by its pid while the spawn still publishes it. Before,
 * it gave up, and the loop waited in clone for as long as the child stayed stopped. Real processes,
 * really stopped; only pidfd_open's failure is played.
 */
@Timeout(30)
class SpawnGuardCheckTest {
    private static final int SIGCONT = 18;
    private static final int SIGSTOP = 19;

    @Test
    void aStoppedChildIsKilledByItsPidWhenNoPidfdCanBeHad() throws Exception {
        Process child = stoppedSleep();
        try {
            int pid = (int) child.pid();
            SpawnGuard.check(() -> pid, p -> -1);
            assertTrue(child.waitFor(10, TimeUnit.SECONDS), "killed");
            assertEquals(128 + LibC.SIGKILL, child.exitValue());
        } finally {
            endOf(child);
        }
    }

    @Test
    void aChildNoLongerPublishedIsLeftAlone() throws Exception {
        Process child = stoppedSleep();
        try {
            int pid = (int) child.pid();
            int[] looks = {0};
            // published at the first look, gone (the spawn returned) at the second
            SpawnGuard.check(() -> looks[0]++ == 0 ? pid : 0, p -> -1);
            assertFalse(child.waitFor(300, TimeUnit.MILLISECONDS), "not killed: it may be another process by now");
        } finally {
            endOf(child);
        }
    }

    /**
     * A child that runs (not stopped) but is still on its way past its deadline is killed too, by
     * its pidfd, and the spawn is told first; before its deadline it is left alone.
     */
    @Test
    void aRunningChildPastItsDeadlineIsKilledAndTheSpawnToldFirst() throws Exception {
        Process child = new ProcessBuilder("sleep", "60").start();
        try {
            int pid = (int) child.pid();
            java.util.function.IntUnaryOperator pidfdOpen = p -> (int) Os.libc().syscall(LibC.SYS_PIDFD_OPEN, p, 0);
            int[] told = {0};
            SpawnGuard.check(() -> pid, pidfdOpen, false, p -> told[0] = p);
            assertFalse(child.waitFor(300, TimeUnit.MILLISECONDS), "running, within its deadline: left alone");
            SpawnGuard.check(() -> pid, pidfdOpen, true, p -> told[0] = p);
            assertTrue(child.waitFor(10, TimeUnit.SECONDS), "killed past its deadline");
            assertEquals(128 + LibC.SIGKILL, child.exitValue());
            assertEquals(pid, told[0], "the spawn was told before the kill");
        } finally {
            endOf(child);
        }
    }

    private static void endOf(Process child) throws InterruptedException {
        child.destroyForcibly();
        Os.kill((int) child.pid(), SIGCONT);
        child.waitFor(10, TimeUnit.SECONDS);
    }

    private static Process stoppedSleep() throws Exception {
        Process child = new ProcessBuilder("sleep", "60").start();
        Os.kill((int) child.pid(), SIGSTOP);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!SpawnGuard.stopped((int) child.pid())) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the child never stopped");
            }
            Thread.sleep(10);
        }
        return child;
    }
}
