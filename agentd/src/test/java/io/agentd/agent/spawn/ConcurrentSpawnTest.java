package io.agentd.agent.spawn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.agentd.agent.sys.ExitStatus;
import io.agentd.agent.sys.Os;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(120)
class ConcurrentSpawnTest {
    private static final int SESSIONS = 12;

    /** One session's outcome as its own fds and wait status saw it. */
    record Outcome(int session, int pid, String output, ExitStatus status) {}

    @Test
    void twelveConcurrentSpawnsMixedPtyAndPipeGetTheirOwnOutputAndExitCode() throws Exception {
        Spawner spawner = ChildIo.spawner();
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(SESSIONS);
        try {
            List<Future<Outcome>> futures = new ArrayList<>();
            for (int i = 0; i < SESSIONS; i++) {
                int session = i;
                boolean tty = i % 2 == 0;
                Callable<Outcome> task = () -> {
                    go.await();
                    // The sleep keeps all twelve alive at once, so fds and pids of the sessions coexist.
                    SpawnSpec spec = new SpawnSpec("sh",
                            List.of("-c", "sleep 0.2; printf 'session %s pid %s' " + session + " $$; exit "
                                    + (20 + session)),
                            EnvBuilder.build(List.of(), List.of(), tty), null, null, tty,
                            24, 80, List.of(), Profile.DEFAULT);
                    Child child = spawner.start(spec);
                    try {
                        if (!tty) {
                            Os.libc().close(child.stdinFd());
                        }
                        String output = ChildIo.readString(child.stdoutFd());
                        return new Outcome(session, child.pid(), output, ExitStatus.waitFor(child.pid()));
                    } finally {
                        ChildIo.closeRest(child);
                    }
                };
                futures.add(pool.submit(task));
            }
            go.countDown();
            for (Future<Outcome> f : futures) {
                Outcome o = f.get();
                assertEquals("session " + o.session() + " pid " + o.pid(), o.output());
                assertEquals(new ExitStatus(20 + o.session(), null), o.status(), "session " + o.session());
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
