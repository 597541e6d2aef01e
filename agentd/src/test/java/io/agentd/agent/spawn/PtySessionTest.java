package io.agentd.agent.spawn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.sys.ExitStatus;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** PTY sessions: the master is the session's I/O; the slave is the child's 0/1/2 and controlling tty. */
@Timeout(60)
class PtySessionTest {

    private static SpawnSpec pty(String script, int rows, int cols) {
        return new SpawnSpec("sh", List.of("-c", script), EnvBuilder.build(List.of(), List.of(), true), null, null,
                true, rows, cols, List.of(), Profile.DEFAULT);
    }

    @Test
    void fastWriterIsDrainedInOrderEvenWhenReadOnlyAfterItExited() throws Exception {
        // 1 KiB fast, a marker, a pause, an end marker, exit 0. No newlines: the tty would turn them
        // into \r\n. The master is only read once the child has exited: what the child wrote must
        // still be there, in order, before the EIO that ends a PTY.
        String script = "head -c 1024 /dev/zero | tr '\\0' x; printf MARK; sleep 0.3; printf END; exit 0";
        Child child = ChildIo.spawner().start(pty(script, 24, 80));
        try {
            assertTrue(ChildIo.readable(child.pidfd(), 20_000), "child exited");
            String out = ChildIo.readString(child.stdoutFd());
            assertEquals("x".repeat(1024) + "MARK" + "END", out);
            assertEquals(new ExitStatus(0, null), ExitStatus.waitFor(child.pid()));
        } finally {
            ChildIo.closeRest(child);
        }
    }

    @Test
    void fastWriterIsDrainedWhileItRuns() throws Exception {
        Child child = ChildIo.spawner().start(
                pty("head -c 65536 /dev/zero | tr '\\0' y; printf END; exit 0", 24, 80));
        try {
            assertEquals("y".repeat(65536) + "END", ChildIo.readString(child.stdoutFd()));
            assertEquals(0, ExitStatus.waitFor(child.pid()).code());
        } finally {
            ChildIo.closeRest(child);
        }
    }

    @Test
    void sttySizeShowsTheRequestedWindowAndTtyIsAPtsDevice() throws Exception {
        ChildIo.Run r = ChildIo.run(pty("stty size; tty", 37, 123));
        String[] lines = r.stdout().split("\r\n");
        assertEquals("37 123", lines[0]);
        assertTrue(lines[1].matches("/dev/pts/\\d+"), lines[1]);
        assertEquals(0, r.status().code());
    }

    @Test
    void thePtyIsTheControllingTerminalAndTermIsSet() throws Exception {
        // /dev/tty opens only for a process with a controlling terminal.
        ChildIo.Run r = ChildIo.run(pty("echo via-dev-tty > /dev/tty && printf %s \"$TERM\"", 24, 80));
        assertEquals("via-dev-tty\r\nxterm-256color", r.stdout());
    }

    @Test
    void resizeReachesTheChild() throws Exception {
        Child child = ChildIo.spawner().start(pty("read go; stty size", 24, 80));
        try {
            assertEquals(0, Pty.setWindowSize(child.ptyMasterFd(), 50, 132));
            ChildIo.write(child.stdinFd(), "go\n");
            String out = ChildIo.readString(child.stdoutFd());
            assertTrue(out.endsWith("50 132\r\n"), out);
            assertEquals(0, ExitStatus.waitFor(child.pid()).code());
        } finally {
            ChildIo.closeRest(child);
        }
    }

    @Test
    void masterIsNonBlockingAndCloseOnExecAndThereIsNoStderrPipe() throws Exception {
        Child child = ChildIo.spawner().start(pty("exit 0", 24, 80));
        try {
            LibC libc = Os.libc();
            assertEquals(child.stdinFd(), child.stdoutFd());
            assertEquals(child.stdoutFd(), child.ptyMasterFd());
            assertEquals(-1, child.stderrFd());
            assertTrue((libc.fcntl(child.ptyMasterFd(), LibC.F_GETFL, 0) & LibC.O_NONBLOCK) != 0);
            assertTrue((libc.fcntl(child.ptyMasterFd(), LibC.F_GETFD, 0) & LibC.FD_CLOEXEC) != 0);
            ChildIo.readToEnd(child.stdoutFd());
            assertEquals(0, ExitStatus.waitFor(child.pid()).code());
        } finally {
            ChildIo.closeRest(child);
        }
    }
}
