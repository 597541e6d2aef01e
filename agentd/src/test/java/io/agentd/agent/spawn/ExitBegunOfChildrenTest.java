package io.agentd.agent.spawn;

import static io.agentd.agent.spawn.ChildIo.sh;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.sys.ExitBegun;
import io.agentd.agent.sys.ExitStatus;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link ExitBegun} on real children, as the session's deadline asks it of its leader: a running
 * child has not begun its exit, one that exited has, and asking leaves its exit to the reaper.
 */
@Timeout(60)
class ExitBegunOfChildrenTest {

    @Test
    void aRunningChildHasNotBegunItsExit() throws Exception {
        Child child = ChildIo.spawner().start(sh("exec sleep 60"));
        try {
            assertFalse(ExitBegun.of(child.pid()));
        } finally {
            Os.kill(child.pid(), LibC.SIGKILL);
            ExitStatus.waitFor(child.pid());
            ChildIo.closeRest(child);
        }
    }

    @Test
    void anExitedChildHasAndItsStatusIsStillTheReapers() throws Exception {
        Child child = ChildIo.spawner().start(sh("exit 7"));
        try {
            Os.libc().close(child.stdinFd());
            awaitZombie(child);
            assertTrue(ExitBegun.of(child.pid()));
            assertEquals(new ExitStatus(7, null), ExitStatus.waitFor(child.pid()));
        } finally {
            ChildIo.closeRest(child);
        }
    }

    /** The pidfd turns readable once the child is a zombie. */
    private static void awaitZombie(Child child) throws InterruptedException {
        for (int i = 0; i < 2000; i++) {
            if (Os.pollNow(child.pidfd(), LibC.POLLIN) > 0) {
                return;
            }
            Thread.sleep(5);
        }
        throw new AssertionError("child " + child.pid() + " did not exit");
    }
}
