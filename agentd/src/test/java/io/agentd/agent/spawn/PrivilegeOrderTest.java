package io.agentd.agent.spawn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.Rlimit;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The child's steps in the order privilege needs (DESIGN.md decision 2): chdir as the target user,
 * rlimits after the user lookup, the PTY slave handed to the target user. Each of these failed
 * while the exec helper did chdir as root, setrlimit before its lookup and left the slave to root.
 * Needs root (to become nobody).
 */
@Timeout(60)
class PrivilegeOrderTest {
    /** Under target/: the tests run with a java.io.tmpdir that does not exist (NativeLoadTest). */
    private static Path newDir() throws Exception {
        return Files.createTempDirectory(Files.createDirectories(Path.of("target/test-tmp")), "privilege-");
    }

    private static SpawnSpec spec(String script, String cwd, String user, boolean tty, List<Rlimit> rlimits) {
        return new SpawnSpec("sh", List.of("-c", script), EnvBuilder.build(List.of(), List.of(), tty), cwd, user, tty,
                24, 80, rlimits, Profile.DEFAULT);
    }

    @Test
    void cwdTheUserCannotReachIsBadCwdEvenThoughRootCould() throws Exception {
        Path tmp = newDir();
        Path x = tmp.resolve("x");
        Path pub = Files.createDirectories(x.resolve("pub"));
        Files.writeString(pub.resolve("file"), "secret\n");
        Files.setPosixFilePermissions(pub, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(x, PosixFilePermissions.fromString("rwx------"));

        SpawnSpec asNobody = new SpawnSpec("cat", List.of("file"), EnvBuilder.build(List.of(), List.of(), false),
                pub.toString(), "nobody", false, 24, 80, List.of(), Profile.DEFAULT);
        ExecFailed f = assertThrows(SpawnFailure.class, () -> ChildIo.spawner().start(asNobody)).failure();
        assertEquals("bad_cwd", f.kind());
        assertEquals("chdir", f.stage());
        assertEquals("EACCES", f.errnoName());

        assertEquals("secret\n", ChildIo.run(spec("cat file", pub.toString(), null, false, List.of())).stdout(),
                "root, the agent's user, may go there");
    }

    @Test
    void nofileFourAsAnotherUserRunsWithThatUsersHome() throws Exception {
        ChildIo.Run r = ChildIo.run(spec("ulimit -n; ulimit -Hn; echo $HOME", "/", "nobody", false,
                List.of(new Rlimit("nofile", 4, 4))));
        assertEquals("", r.stderr());
        assertEquals("4\n4\n/nonexistent\n", r.stdout());
        assertEquals(0, r.status().code());
    }

    @Test
    void nofileFourWithoutAUserKeepsTheAgentsHome() throws Exception {
        ChildIo.Run r = ChildIo.run(spec("ulimit -n; echo $HOME", "/", null, false,
                List.of(new Rlimit("nofile", 4, 4))));
        assertEquals("4\n/root\n", r.stdout(), "HOME from the agent's passwd entry, not \"/\"");
    }

    @Test
    void ptySlaveBelongsToTheTargetUserWhoCanWriteToIt() throws Exception {
        ChildIo.Run r = ChildIo.run(spec("echo via-tty > $(tty) && stat -c '%U %G %a' $(tty)", null, "nobody", true,
                List.of()));
        assertEquals("via-tty\r\nnobody tty 620\r\n", r.stdout());
        assertEquals(0, r.status().code());
    }

    @Test
    void ptyWithoutAUserStaysTheAgentsAndWorks() throws Exception {
        ChildIo.Run r = ChildIo.run(spec("echo via-tty > $(tty) && stat -c '%U' $(tty)", null, null, true,
                List.of()));
        assertEquals("via-tty\r\nroot\r\n", r.stdout());
    }
}
