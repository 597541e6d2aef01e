package io.agentd.agent.spawn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.sys.ExitStatus;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.protocol.payload.ExecFailed;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A session of a user stops (SIGSTOP) a command being started as that user between its user switch
 * and its exec (rule 9 in agentd-shim.c): the spawn used to wait for that exec for ever, and the
 * agent's loop with it. Now the child is killed and the spawn returns: failed ("died before exec"),
 * or, killed in its PATH search (stage execve, rule 5), started and dead of SIGKILL.
 */
@Timeout(60)
class StoppedSpawnTest {
    /** A uid no other test runs as: kill -STOP -1 as it reaches only its own processes. */
    private static final String UID = "54329";

    @Test
    void aChildStoppedBeforeItsExecIsKilledAndTheSpawnFails() throws Exception {
        Child stopper = ChildIo.spawner().start(new SpawnSpec("/bin/sh", List.of("-c",
                "while :; do kill -STOP -1 2>/dev/null; done"), EnvBuilder.build(List.of(), List.of(), false), null,
                UID, false, 24, 80, List.of(), Profile.DEFAULT));
        try {
            // 300,000 PATH entries: the child searches them as the user for about half a second.
            SpawnSpec slow = new SpawnSpec("agentd-no-such-command", List.of(),
                    List.of("PATH=" + "/x:".repeat(300_000)), null, UID, false, 24, 80, List.of(), Profile.DEFAULT);
            CompletableFuture<Object> outcome = CompletableFuture.supplyAsync(() -> {
                try {
                    return ChildIo.spawner().start(slow);
                } catch (SpawnFailure f) {
                    return f.failure();
                }
            });
            Object o;
            try {
                o = outcome.get(20, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException | ExecutionException e) {
                throw new AssertionError("the spawn did not return: its child was left stopped", e);
            }
            if (o instanceof ExecFailed f) { // killed before its stage reached the exec
                assertEquals("died before exec", f.stage(), f.message());
                assertEquals("other", f.kind());
            } else { // killed in the PATH search, at stage execve: started, and dead of SIGKILL
                Child c = (Child) o;
                assertEquals(Integer.valueOf(LibC.SIGKILL), ExitStatus.waitFor(c.pid()).signal());
                Os.libc().close(c.stdinFd());
                ChildIo.closeRest(c);
            }
        } finally {
            Os.killGroup(stopper.pid(), LibC.SIGKILL);
            ExitStatus.waitFor(stopper.pid());
            killStoppedChildrenOfThisJvm(); // without the guard: lets the hung spawn (and the test run) end
            Os.libc().close(stopper.stdinFd());
            ChildIo.closeRest(stopper);
        }
    }

    private static void killStoppedChildrenOfThisJvm() throws IOException {
        for (int pid : JvmChildren.pids()) {
            if (SpawnGuard.stopped(pid)) {
                Os.kill(pid, LibC.SIGKILL);
            }
        }
    }
}
