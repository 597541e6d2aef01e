package io.agentd.agent.spawn;

import io.agentd.agent.sys.ExitStatus;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import jnr.constants.platform.Errno;

/** Test-side I/O on a Child's fds, straight through libc (the daemon's event loop does not exist here). */
final class ChildIo {
    static final long TIMEOUT_MS = 20_000;

    private ChildIo() {}

    /**
     * The tests' one Spawner, as the agent has one.
     */
    static Spawner spawner() {
        return SharedSpawner.SPAWNER;
    }

    /** Made at the first spawn (holder idiom), so a test class that spawns nothing never loads the shim. */
    private static final class SharedSpawner {
        static final Spawner SPAWNER = Spawner.fromSystemProperty();
    }

    /** A pipe-mode spec running {@code sh -c script} with the default environment. */
    static SpawnSpec sh(String script) {
        return spec("sh", List.of("-c", script), false);
    }

    static SpawnSpec spec(String cmd, List<String> args, boolean tty) {
        return new SpawnSpec(cmd, args, EnvBuilder.build(List.of(), List.of(), tty), null, null, tty, 24, 80,
                List.of(), Profile.DEFAULT);
    }

    /** Reads fd until EOF (pipe) or EIO (PTY whose slave side is all closed). */
    static byte[] readToEnd(int fd) {
        LibC libc = Os.libc();
        ByteBuffer pollfd = Os.allocate(8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[65536];
        long deadline = System.currentTimeMillis() + TIMEOUT_MS;
        while (true) {
            long n = libc.read(fd, buf, buf.length);
            int errno = Os.errno();
            if (n > 0) {
                out.write(buf, 0, (int) n);
                continue;
            }
            if (n == 0 || errno == Errno.EIO.intValue()) {
                return out.toByteArray();
            }
            if (errno != Errno.EAGAIN.intValue() && errno != Errno.EINTR.intValue()) {
                throw new AssertionError("read(" + fd + "): " + Os.errnoName(errno));
            }
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                throw new AssertionError("no EOF on fd " + fd + " after " + TIMEOUT_MS + " ms; read so far: "
                        + out.toString(StandardCharsets.UTF_8));
            }
            pollfd.putInt(0, fd);
            pollfd.putShort(4, LibC.POLLIN);
            pollfd.putShort(6, (short) 0);
            libc.poll(pollfd, 1, (int) left);
        }
    }

    static String readString(int fd) {
        return new String(readToEnd(fd), StandardCharsets.UTF_8);
    }

    /** True when fd polls readable within timeoutMs. */
    static boolean readable(int fd, int timeoutMs) {
        ByteBuffer pollfd = Os.allocate(8);
        pollfd.putInt(0, fd);
        pollfd.putShort(4, LibC.POLLIN);
        return Os.libc().poll(pollfd, 1, timeoutMs) == 1;
    }

    static void write(int fd, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        if (Os.libc().write(fd, bytes, bytes.length) != bytes.length) {
            throw new AssertionError("short write to fd " + fd + ": " + Os.errnoName(Os.errno()));
        }
    }

    /** Result of running a child to completion. */
    record Run(String stdout, String stderr, ExitStatus status) {}

    /** Starts the spec, reads stdout and stderr to the end, closes every fd and reaps the child. */
    static Run run(SpawnSpec spec) throws SpawnFailure {
        return run(spawner(), spec);
    }

    static Run run(Spawner spawner, SpawnSpec spec) throws SpawnFailure {
        Child child = spawner.start(spec);
        try {
            if (!child.tty()) {
                Os.libc().close(child.stdinFd());  // EOF for the child; in PTY mode it is the master
            }
            String stdout = readString(child.stdoutFd());
            String stderr = child.tty() ? "" : readString(child.stderrFd());
            return new Run(stdout, stderr, ExitStatus.waitFor(child.pid()));
        } finally {
            closeRest(child);
        }
    }

    /** Closes a Child's fds except a pipe-mode stdin (closed by whoever writes to it). */
    static void closeRest(Child child) {
        LibC libc = Os.libc();
        libc.close(child.stdoutFd());
        if (child.stderrFd() >= 0) {
            libc.close(child.stderrFd());
        }
        if (child.pidfd() >= 0) {
            libc.close(child.pidfd());
        }
    }
}
