package io.agentd.agent.spawn;

import static io.agentd.agent.spawn.ChildIo.run;
import static io.agentd.agent.spawn.ChildIo.sh;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.sys.ExitStatus;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.protocol.payload.Rlimit;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Pipe sessions: real children, output read straight from the Child's fds. */
@Timeout(60)
class PipeSessionTest {

    @Test
    void stdoutAndStderrArriveOnTheirOwnPipesAndTheExitCodeIsKept() throws Exception {
        ChildIo.Run r = run(sh("echo out; echo err >&2; exit 7"));
        assertEquals("out\n", r.stdout());
        assertEquals("err\n", r.stderr());
        assertEquals(new ExitStatus(7, null), r.status());
    }

    @Test
    void stdinReachesTheChildAndClosingItIsEof() throws Exception {
        Child child = ChildIo.spawner().start(ChildIo.spec("cat", List.of(), false));
        try {
            ChildIo.write(child.stdinFd(), "hello through stdin\n");
            Os.libc().close(child.stdinFd());
            assertEquals("hello through stdin\n", ChildIo.readString(child.stdoutFd()));
            assertEquals(0, ExitStatus.waitFor(child.pid()).code());
        } finally {
            ChildIo.closeRest(child);
        }
    }

    @Test
    void parentEndsAreNonBlockingAndCloseOnExec() throws Exception {
        Child child = ChildIo.spawner().start(sh("exit 0"));
        try {
            LibC libc = Os.libc();
            for (int fd : new int[] {child.stdinFd(), child.stdoutFd(), child.stderrFd()}) {
                assertTrue((libc.fcntl(fd, LibC.F_GETFL, 0) & LibC.O_NONBLOCK) != 0, "O_NONBLOCK on fd " + fd);
                assertTrue((libc.fcntl(fd, LibC.F_GETFD, 0) & LibC.FD_CLOEXEC) != 0, "FD_CLOEXEC on fd " + fd);
            }
            assertTrue(child.pidfd() >= 0, "pidfd_open works on this kernel");
            libc.close(child.stdinFd());
            assertEquals(0, ExitStatus.waitFor(child.pid()).code());
        } finally {
            ChildIo.closeRest(child);
        }
    }

    @Test
    void theChildsStandardFdsBlockThoughTheParentsEndsDoNot() throws Exception {
        ChildIo.Run r = run(ChildIo.spec("grep", List.of("^flags", "/proc/self/fdinfo/0", "/proc/self/fdinfo/1",
                "/proc/self/fdinfo/2"), false));
        String[] lines = r.stdout().split("\n");
        assertEquals(3, lines.length, r.stdout());
        for (String line : lines) {
            int flags = Integer.parseInt(line.substring(line.lastIndexOf('\t') + 1), 8);
            assertEquals(0, flags & LibC.O_NONBLOCK, line);
        }
    }

    @Test
    void pidfdBecomesReadableWhenTheChildExits() throws Exception {
        Child child = ChildIo.spawner().start(sh("read line; exit 3"));
        try {
            assertFalse(ChildIo.readable(child.pidfd(), 200), "pidfd readable while the child still runs");
            Os.libc().close(child.stdinFd());
            assertTrue(ChildIo.readable(child.pidfd(), 20_000), "pidfd readable after the exit");
            assertEquals(3, ExitStatus.waitFor(child.pid()).code());
        } finally {
            ChildIo.closeRest(child);
        }
    }

    @Test
    void childLeadsItsOwnSessionAndProcessGroup() throws Exception {
        Child child = ChildIo.spawner().start(sh("read -r pid comm state ppid pgrp sid rest < /proc/$$/stat; "
                + "echo $pid $pgrp $sid"));
        try {
            Os.libc().close(child.stdinFd());
            String[] ids = ChildIo.readString(child.stdoutFd()).trim().split("\\s+");
            assertEquals(3, ids.length, Arrays.toString(ids));
            assertEquals(String.valueOf(child.pid()), ids[0]);
            assertEquals(ids[0], ids[1], "pgid == pid");
            assertEquals(ids[0], ids[2], "sid == pid");
            ExitStatus.waitFor(child.pid());
        } finally {
            ChildIo.closeRest(child);
        }
    }

    @Test
    void noSignalIsBlockedOrIgnoredInTheChild() throws Exception {
        ChildIo.Run r = run(ChildIo.spec("grep", List.of("-E", "^Sig(Blk|Ign):", "/proc/self/status"), false));
        assertEquals("SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n", r.stdout());
    }

    @Test
    void onlyStdioIsOpenInTheChild() throws Exception {
        // ls opens /proc/self/fd itself, so one more fd shows: 3, its own directory fd.
        ChildIo.Run r = run(ChildIo.spec("ls", List.of("/proc/self/fd"), false));
        assertEquals("0\n1\n2\n3\n", r.stdout());
        ChildIo.Run ofTheShell = run(sh("ls /proc/$$/fd; exit 0"));
        assertEquals("0\n1\n2\n", ofTheShell.stdout(), "the shell, listed by its child ls, holds only 0, 1, 2");
    }

    @Test
    void sigpipeIsDefaultSoYesHeadTerminates() throws Exception {
        ChildIo.Run r = run(sh("yes | head -1"));
        assertEquals("y\n", r.stdout());
        assertEquals(0, r.status().code());
    }

    @Test
    void ulimitShowsTheRequestedSoftLimit() throws Exception {
        SpawnSpec spec = withRlimits(sh("ulimit -n; ulimit -Hn"), List.of(new Rlimit("nofile", 512, 1024)));
        assertEquals("512\n1024\n", run(spec).stdout());
    }

    @Test
    void infinityIsUnlimited() throws Exception {
        // fsize: unlimited by default, so setting it needs no privilege (raising a hard limit would).
        SpawnSpec spec = withRlimits(sh("ulimit -f; ulimit -Hf"),
                List.of(new Rlimit("fsize", Rlimit.INFINITY, Rlimit.INFINITY)));
        assertEquals("unlimited\nunlimited\n", run(spec).stdout());
    }

    @Test
    void theJvmEnvironmentIsNotInherited() throws Exception {
        assertNotEquals(null, System.getenv("PATH"), "precondition: the JVM has an environment");
        SpawnSpec spec = new SpawnSpec("env", List.of(), List.of("PATH=/usr/bin:/bin", "ONLY=this"), null, null,
                false, 24, 80, List.of(), Profile.DEFAULT);
        // HOME is added by the spawner from the agent's passwd entry: /root (this test needs root).
        assertEquals("PATH=/usr/bin:/bin\nONLY=this\nHOME=/root\n", run(spec).stdout());
    }

    @Test
    void commandIsSearchedInTheChildsPath() throws Exception {
        SpawnSpec spec = new SpawnSpec("sh", List.of("-c", "echo found"),
                List.of("PATH=/nonexistent-dir:/usr/bin:/bin"), null, null, false, 24, 80, List.of(), Profile.DEFAULT);
        assertEquals("found\n", run(spec).stdout());
    }

    @Test
    void cwdIsApplied() throws Exception {
        SpawnSpec base = sh("pwd");
        SpawnSpec spec = new SpawnSpec(base.cmd(), base.args(), base.env(), "/usr/share", null, false, 24, 80,
                List.of(), Profile.DEFAULT);
        assertEquals("/usr/share\n", run(spec).stdout());
    }

    @Test
    void deathBySignalIsReportedAs128PlusSignal() throws Exception {
        ChildIo.Run r = run(sh("kill -TERM $$"));
        assertEquals(new ExitStatus(143, 15), r.status());
    }

    static SpawnSpec withRlimits(SpawnSpec s, List<Rlimit> rlimits) {
        return new SpawnSpec(s.cmd(), s.args(), s.env(), s.cwd(), s.user(), s.tty(), s.rows(), s.cols(), rlimits,
                s.profile());
    }
}
