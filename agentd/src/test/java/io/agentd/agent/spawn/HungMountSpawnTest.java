package io.agentd.agent.spawn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.ExecFailed;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A command whose cwd is on a mount that does not answer (here a FUSE mount whose server never
 * replies, as a hung virtiofs or NFS share behaves): the spawn's child waits in its chdir, and the
 * agent's loop waited in clone with it, for every host, for as long as the mount hung (a read-only
 * review reproduced it). Now the child is killed once it has been on its way
 * {@link SpawnGuard#EXEC_DEADLINE_MILLIS} ms and the spawn fails bad_cwd, saying so. Needs root and
 * /dev/fuse (CI runs as root).
 */
@Timeout(60)
class HungMountSpawnTest {

    @Test
    void aChdirIntoAMountThatDoesNotAnswerFailsBadCwdAtTheDeadline() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root (mount)");
        Assumptions.assumeTrue(Files.exists(Path.of("/dev/fuse")), "needs /dev/fuse");
        Path mount = Files.createTempDirectory(Files.createDirectories(Path.of("target").toAbsolutePath()), "hung-");
        // The shell holds the FUSE connection (fd 3) and never reads it: every access to the mount waits.
        Process server = new ProcessBuilder("sh", "-c", "exec 3<>/dev/fuse; mount -i -t fuse -o fd=3,rootmode=40000,"
                + "user_id=0,group_id=0 agentd-hung \"$1\" && echo mounted && exec sleep 600", "sh", mount.toString())
                .redirectErrorStream(true).start();
        try {
            String said = new String(server.getInputStream().readNBytes("mounted\n".length()));
            Assumptions.assumeTrue(said.equals("mounted\n"), "no FUSE mount here: " + said);
            SpawnSpec spec = new SpawnSpec("/bin/true", List.of(), EnvBuilder.build(List.of(), List.of(), false),
                    mount.resolve("sub").toString(), null, false, 24, 80, List.of(), Profile.DEFAULT);
            long t0 = System.nanoTime();
            CompletableFuture<Object> outcome = CompletableFuture.supplyAsync(() -> {
                try {
                    return ChildIo.spawner().start(spec);
                } catch (SpawnFailure f) {
                    return f.failure();
                }
            });
            Object o = outcome.get(30, TimeUnit.SECONDS);
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(o instanceof ExecFailed, "the spawn failed: " + o);
            ExecFailed failed = (ExecFailed) o;
            assertEquals("bad_cwd", failed.kind(), failed.toString());
            assertEquals("chdir", failed.stage(), failed.toString());
            assertTrue(failed.message().contains("did not finish within " + SpawnGuard.EXEC_DEADLINE_MILLIS + " ms"),
                    failed.message());
            assertTrue(millis >= SpawnGuard.EXEC_DEADLINE_MILLIS, "not before the deadline: " + millis + " ms");
        } finally {
            server.destroyForcibly();
            server.waitFor(10, TimeUnit.SECONDS);
            new ProcessBuilder("umount", "-l", mount.toString()).start().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
