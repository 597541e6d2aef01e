package io.agentd.agent.spawn;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.protocol.payload.Rlimit;
import java.lang.ref.Reference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import jnr.constants.platform.Errno;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;

/**
 * Starts commands through the exec helper (native-shim) with posix_spawnp; the JVM never forks.
 * Thread-safe.
 *
 * <p>The helper gets the spec on its argv (format in native-shim/agentd-exec-helper.c) and an empty
 * environment; the target's environment travels as --env entries, so nothing of the request's
 * environment (LD_PRELOAD, ...) acts on the helper while it still runs as the agent's user.
 */
public final class Spawner {
    /** System property holding the helper's path, for launchers and tests. */
    public static final String HELPER_PROPERTY = "agentd.exec.helper";

    /** The child's view: stdin, stdout, stderr, and the exec report pipe (fd 3). */
    private static final int CHILD_REPORT_FD = 3;

    private final String helper;
    private final byte[] helperCString;

    /**
     * @param helper path of the agentd-exec-helper binary
     * @throws IllegalArgumentException when it is not an executable file (a broken install: better
     *                                  refused at startup than reported on every request)
     */
    public Spawner(Path helper) {
        if (!Files.isRegularFile(helper) || !Files.isExecutable(helper)) {
            throw new IllegalArgumentException("exec helper " + helper + " is not an executable file");
        }
        this.helper = helper.toAbsolutePath().toString();
        this.helperCString = Os.cString(this.helper);
    }

    /** The helper named by the {@value #HELPER_PROPERTY} system property. */
    public static Spawner fromSystemProperty() {
        String path = System.getProperty(HELPER_PROPERTY);
        if (path == null || path.isEmpty()) {
            throw new IllegalStateException("system property " + HELPER_PROPERTY + " is not set");
        }
        return new Spawner(Path.of(path));
    }

    /**
     * Validates the spec, allocates pipes or the PTY, and posix_spawnp's the helper. Returns at once
     * (it does not wait for the target's exec). Validation, PTY and spawn failures are thrown.
     */
    public Child start(SpawnSpec spec) throws SpawnFailure {
        SpecValidation.check(spec);
        try (Fds fds = new Fds(spec)) {
            int[] report = fds.pipe(Fds.PARENT_READS);
            Child child;
            if (spec.tty()) {
                int[] pty = fds.pty();
                int slave = fds.forChild(pty[1]);
                int pid = spawnHelper(spec, slave, slave, slave, fds.forChild(report[1]));
                child = new Child(pid, pidfdOpen(pid), pty[0], pty[0], -1, report[0], true);
            } else {
                int[] in = fds.pipe(Fds.PARENT_WRITES);
                int[] out = fds.pipe(Fds.PARENT_READS);
                int[] err = fds.pipe(Fds.PARENT_READS);
                int pid = spawnHelper(spec, fds.forChild(in[1]), fds.forChild(out[1]), fds.forChild(err[1]),
                        fds.forChild(report[1]));
                child = new Child(pid, pidfdOpen(pid), in[0], out[0], err[0], report[0], false);
            }
            fds.started();
            return child;
        }
    }

    /** An fd that becomes readable when the child exits, or -1 on kernels before 5.3. */
    private static int pidfdOpen(int pid) {
        return (int) Os.libc().syscall(LibC.SYS_PIDFD_OPEN, pid, 0);
    }

    /**
     * Blocking convenience for tests and simple callers: {@link #start}, then reads the exec report
     * to EOF. On a pre-exec failure the child is reaped and its fds closed before the throw. The
     * returned Child's execReportFd is -1 (already read and closed).
     */
    public Child startAndAwaitExec(SpawnSpec spec) throws SpawnFailure {
        Child child = start(spec);
        byte[] report = new byte[ExecReport.MAX_LEN];
        int len = readReport(child.execReportFd(), report);
        LibC libc = Os.libc();
        libc.close(child.execReportFd());
        if (len == 0) {
            return new Child(child.pid(), child.pidfd(), child.stdinFd(), child.stdoutFd(), child.stderrFd(),
                    -1, child.tty());
        }
        libc.waitpid(child.pid(), new int[1], 0);
        for (int fd : new int[] {child.pidfd(), child.stdinFd(), child.tty() ? -1 : child.stdoutFd(),
                child.stderrFd()}) {
            if (fd >= 0) {
                libc.close(fd);
            }
        }
        throw new SpawnFailure(ExecReport.decode(report, len, spec));
    }

    /** The helper's argv: options, then "--", then the target's argv. */
    List<String> helperArgv(SpawnSpec spec) {
        List<String> argv = new ArrayList<>();
        argv.add(helper);
        if (spec.tty()) {
            argv.add("--tty");
        }
        if (spec.cwd() != null) {
            argv.add("--cwd");
            argv.add(spec.cwd());
        }
        for (Rlimit r : spec.rlimits()) {
            argv.add("--rlimit");
            argv.add(r.resource() + ":" + Long.toUnsignedString(r.soft()) + ":" + Long.toUnsignedString(r.hard()));
        }
        if (spec.restricted()) {
            argv.add("--restricted");
        }
        if (spec.user() != null) {
            argv.add("--user");
            argv.add(spec.user());
        }
        for (String entry : spec.env()) {
            argv.add("--env");
            argv.add(entry);
        }
        argv.add("--");
        argv.add(spec.cmd());
        argv.addAll(spec.args());
        return argv;
    }

    /**
     * posix_spawnp with SETSIGMASK (empty) | SETSIGDEF (all) | SETSID: the child starts with a clean
     * signal state (the JVM blocks SIGQUIT and others) and leads its own session and process group.
     * The dup2 file actions clear close-on-exec on the child's 0..3; every other fd the agent holds is
     * close-on-exec, and the helper closes anything above 3 regardless.
     */
    private int spawnHelper(SpawnSpec spec, int stdin, int stdout, int stderr, int report) throws SpawnFailure {
        LibC libc = Os.libc();
        Pointer actions = Memory.allocateDirect(Os.runtime(), LibC.SIZEOF_POSIX_SPAWN_FILE_ACTIONS, true);
        Pointer attr = Memory.allocateDirect(Os.runtime(), LibC.SIZEOF_POSIX_SPAWNATTR, true);
        Pointer emptyMask = Memory.allocateDirect(Os.runtime(), LibC.SIZEOF_SIGSET, true);
        Pointer allSignals = Memory.allocateDirect(Os.runtime(), LibC.SIZEOF_SIGSET, true);
        Pointer argv = Os.cStringArray(helperArgv(spec));
        Pointer envp = Os.cStringArray(List.of());
        libc.posix_spawn_file_actions_init(actions);
        libc.posix_spawnattr_init(attr);
        try {
            libc.sigemptyset(emptyMask);
            libc.sigfillset(allSignals);
            int err = libc.posix_spawn_file_actions_adddup2(actions, stdin, 0);
            err = err != 0 ? err : libc.posix_spawn_file_actions_adddup2(actions, stdout, 1);
            err = err != 0 ? err : libc.posix_spawn_file_actions_adddup2(actions, stderr, 2);
            err = err != 0 ? err : libc.posix_spawn_file_actions_adddup2(actions, report, CHILD_REPORT_FD);
            err = err != 0 ? err : libc.posix_spawnattr_setflags(attr,
                    (short) (LibC.POSIX_SPAWN_SETSIGMASK | LibC.POSIX_SPAWN_SETSIGDEF | LibC.POSIX_SPAWN_SETSID));
            err = err != 0 ? err : libc.posix_spawnattr_setsigmask(attr, emptyMask);
            err = err != 0 ? err : libc.posix_spawnattr_setsigdefault(attr, allSignals);
            int[] pid = new int[1];
            err = err != 0 ? err : libc.posix_spawnp(pid, helperCString, actions, attr, argv, envp);
            if (err != 0) {
                throw new SpawnFailure(ExecReport.failure("posix_spawn", err, spec));
            }
            return pid[0];
        } finally {
            libc.posix_spawnattr_destroy(attr);
            libc.posix_spawn_file_actions_destroy(actions);
            Reference.reachabilityFence(emptyMask);
            Reference.reachabilityFence(allSignals);
            Reference.reachabilityFence(argv);
            Reference.reachabilityFence(envp);
        }
    }

    /** Reads the non-blocking report fd to EOF; returns the number of bytes read. */
    private static int readReport(int fd, byte[] buf) {
        LibC libc = Os.libc();
        Pointer pollfd = Memory.allocateDirect(Os.runtime(), 8, true);
        byte[] chunk = new byte[buf.length];
        int len = 0;
        while (true) {
            long n = libc.read(fd, chunk, chunk.length);
            int errno = Os.errno();
            if (n > 0) {
                int keep = (int) Math.min(n, buf.length - len);
                System.arraycopy(chunk, 0, buf, len, keep);
                len += keep;
            } else if (n == 0) {
                return len;
            } else if (errno == Errno.EAGAIN.intValue()) {
                pollfd.putInt(0, fd);
                pollfd.putShort(4, LibC.POLLIN);
                libc.poll(pollfd, 1, -1);
            } else if (errno != Errno.EINTR.intValue()) {
                return len;
            }
        }
    }

    /**
     * The fds of one spawn in progress. Until {@link #started} every fd is closed on close(); after
     * it only the child's ends are (the helper has its own copies), the parent's ends go to Child.
     */
    private static final class Fds implements AutoCloseable {
        static final boolean PARENT_READS = true;
        static final boolean PARENT_WRITES = false;

        private final SpawnSpec spec;
        private final List<Integer> parentEnds = new ArrayList<>();
        private final List<Integer> childEnds = new ArrayList<>();
        private boolean started;

        Fds(SpawnSpec spec) {
            this.spec = spec;
        }

        /** A close-on-exec pipe as {parent's end (non-blocking), child's end}. */
        int[] pipe(boolean parentReads) throws SpawnFailure {
            LibC libc = Os.libc();
            int[] fds = new int[2];
            if (libc.pipe2(fds, LibC.O_CLOEXEC) != 0) {
                throw new SpawnFailure(ExecReport.failure("pipe2", Os.errno(), spec));
            }
            int parent = parentReads ? fds[0] : fds[1];
            int child = parentReads ? fds[1] : fds[0];
            parentEnds.add(parent);
            childEnds.add(child);
            if (libc.fcntl(parent, LibC.F_SETFL, LibC.O_NONBLOCK) != 0) {
                throw new SpawnFailure(ExecReport.failure("fcntl", Os.errno(), spec));
            }
            return new int[] {parent, child};
        }

        /** A PTY as {master (non-blocking), slave}. */
        int[] pty() throws SpawnFailure {
            Pty.Pair pair = Pty.open(spec);
            parentEnds.add(pair.master());
            childEnds.add(pair.slave());
            return new int[] {pair.master(), pair.slave()};
        }

        /**
         * The child's end as an fd above 3: the dup2s onto 0..3 must never overwrite a source not
         * yet duplicated (possible only when the agent runs with some of 0..3 closed).
         */
        int forChild(int fd) throws SpawnFailure {
            if (fd > CHILD_REPORT_FD) {
                return fd;
            }
            int moved = Os.libc().fcntl(fd, LibC.F_DUPFD_CLOEXEC, CHILD_REPORT_FD + 1);
            if (moved < 0) {
                throw new SpawnFailure(ExecReport.failure("fcntl", Os.errno(), spec));
            }
            childEnds.add(moved);
            return moved;
        }

        void started() {
            started = true;
        }

        @Override
        public void close() {
            LibC libc = Os.libc();
            childEnds.forEach(libc::close);
            if (!started) {
                parentEnds.forEach(libc::close);
            }
        }
    }
}
