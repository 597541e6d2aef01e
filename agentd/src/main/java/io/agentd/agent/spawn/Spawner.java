package io.agentd.agent.spawn;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.ShimLibrary;
import io.agentd.agent.sys.Threads;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.Rlimit;
import java.lang.ref.Reference;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts commands with one call into native-shim (agentd_spawn, DESIGN.md decisions 1 and 2): the
 * JVM never forks, and the target is exec'd directly by a vfork-style child. Everything the child
 * needs is prepared here first: the user resolved from /etc/passwd and /etc/group, HOME, the PATH to
 * search, pipes or the PTY (its slave handed to the target user). When {@link #start} returns, the
 * target is running; when it throws, nothing was left behind (the child, if any, is reaped).
 * Thread-safe.
 */
public final class Spawner {
    private static final Logger log = LoggerFactory.getLogger(Spawner.class);
    private static volatile boolean guardRefusalLogged;
    /** System property holding the path of libagentd-shim.so, set by the launcher and the build. */
    public static final String SHIM_PROPERTY = ShimLibrary.PROPERTY;

    /** execvpe's default when the environment has no PATH. */
    static final String DEFAULT_SEARCH_PATH = "/usr/local/bin:/usr/bin:/bin";

    /** A PTY slave given to another user: owner read/write, group (tty) write, as login programs do. */
    private static final int PTY_SLAVE_MODE = 0620;

    private final NativeShim shim;
    private final UserDb users;
    /** Low fds for spawns while the agent holds many (the process's one set). */
    private final SpawnSlots slots;
    /** The agent's uid: whose HOME a command gets when it runs as the agent's user. */
    private final int agentUid;
    /** The kernel's last capability, read once (LastCapability): the strict profile's bounding set goes up to it. */
    private final int lastCapability;
    /** The open-file limit children start with (the agent raised its own). */
    private SessionOpenFiles openFiles = SessionOpenFiles.INHERITED;
    /** The oom_score_adj children start with (the agent lowered its own). */
    private OomScoreAdj oomScoreAdj = OomScoreAdj.INHERITED;

    Spawner(NativeShim shim, UserDb users) {
        this(shim, users, SpawnSlots.shared());
    }

    /** With a set of slots of its own: a test that may disable them leaves the process's set alone. */
    Spawner(NativeShim shim, UserDb users, SpawnSlots slots) {
        this.shim = shim;
        this.users = users;
        this.agentUid = Os.libc().getuid();
        this.slots = slots;
        this.lastCapability = LastCapability.ofKernel();
    }

    /**
     * The shim at {@code library}, with the system's user database.
     *
     * @throws IllegalStateException when the library is missing or does not load (a broken install:
     *                               better refused at startup than reported on every request)
     */
    public static Spawner load(Path library) {
        return new Spawner(NativeShim.load(library), UserDb.system());
    }

    /** The shim named by the {@value #SHIM_PROPERTY} system property. */
    public static Spawner fromSystemProperty() {
        return load(ShimLibrary.configuredPath());
    }

    /** Children start with {@code openFiles}' limit instead of the agent's own (set before the first spawn). */
    public void startChildrenWith(SessionOpenFiles openFiles) {
        this.openFiles = openFiles;
    }

    /**
     * Children start with the oom_score_adj the agent was started with, not the one it set for
     * itself ({@link OomScoreAdj#childValue}; set before the first spawn).
     */
    public void startChildrenWith(OomScoreAdj oomScoreAdj) {
        this.oomScoreAdj = oomScoreAdj;
    }

    /**
     * Validates the spec, resolves the user, allocates pipes or the PTY and starts the command.
     * Returns once the target has been exec'd; every failure before that is thrown, typed.
     */
    public Child start(SpawnSpec spec) throws SpawnFailure {
        return start(spec, -1);
    }

    /**
     * As {@link #start(SpawnSpec)}, the child in a cgroup before anything else: created in the one
     * {@code cgroupFd} names (its directory, open; -1: the agent's cgroup), or joining it first thing.
     */
    public Child start(SpawnSpec spec, int cgroupFd) throws SpawnFailure {
        return start(spec, cgroupFd, false);
    }

    /**
     * As {@link #start(SpawnSpec, int)}, for a session: a PTY's slave is kept open for the caller
     * too ({@link Child#ptySlaveFd}), which closes it when the leader exits.
     */
    public Child startSession(SpawnSpec spec, int cgroupFd) throws SpawnFailure {
        return start(spec, cgroupFd, true);
    }

    private Child start(SpawnSpec requested, int cgroupFd, boolean holdSlave) throws SpawnFailure {
        SpecValidation.check(requested);
        SpawnSpec spec = openFiles.applyTo(requested);
        TargetUser user = resolveUser(spec);
        List<String> env = withHome(spec.env(), user);
        try (Fds fds = new Fds(spec)) {
            int[] stdio;
            int stdinFd;
            int stdoutFd;
            int stderrFd;
            int slaveFd = -1;
            if (spec.tty()) {
                Pty.Pair pty = fds.pty();
                slaveFd = pty.slave();
                if (user != null) {
                    Pty.giveSlaveTo(pty.slave(), user.uid(), users.groupId("tty").orElse(-1), PTY_SLAVE_MODE, spec);
                }
                stdio = new int[] {pty.slave(), pty.slave(), pty.slave()};
                stdinFd = pty.master();
                stdoutFd = pty.master();
                stderrFd = -1;
            } else {
                int[] in = fds.pipe(Fds.PARENT_WRITES);
                int[] out = fds.pipe(Fds.PARENT_READS);
                int[] err = fds.pipe(Fds.PARENT_READS);
                stdio = new int[] {in[1], out[1], err[1]};
                stdinFd = in[0];
                stdoutFd = out[0];
                stderrFd = err[0];
            }
            ShimSpec call = spawn(spec, env, stdio, user, cgroupFd);
            if (call.pid() <= 0) { // agentd_spawn sets the pid on success only
                throw new SpawnFailure(failureOf(call, spec));
            }
            fds.started();
            if (slaveFd >= 0 && holdSlave) {
                fds.keep(slaveFd); // see Child.ptySlaveFd
            } else {
                slaveFd = -1; // closed with the other child ends
            }
            return new Child(call.pid(), call.pidfd(), stdinFd, stdoutFd, stderrFd, spec.tty(), slaveFd);
        }
    }

    /**
     * One agentd_spawn; its report in the returned spec. Through the slots when the agent's fd table
     * is large (SpawnSlots); a kernel that refuses them (no CLOSE_RANGE_UNSHARE: EINVAL, ENOSYS) or
     * a seccomp filter that refuses close_range (EPERM: the kernel itself never answers it) is asked
     * again without, and never with them again.
     */
    private ShimSpec spawn(SpawnSpec spec, List<String> env, int[] stdio, TargetUser user, int cgroupFd) {
        int[] childFds = {stdio[0], stdio[1], stdio[2], cgroupFd};
        synchronized (slots) {
            if (slots.worthIt(childFds)) {
                ShimSpec call;
                try {
                    int[] placed = slots.place(childFds); // in the try: a dup3 failing half-way leaves slots used
                    call = spawnOnce(new ShimSpec(spec, env, searchPath(env), Arrays.copyOf(placed, 3), user,
                            placed[3], slots.keepBelow(), lastCapability, oomScoreAdj.childValue()));
                } finally {
                    slots.release();
                }
                boolean refused = call.pid() <= 0 && call.stage() == ShimStage.CLOSE_RANGE
                        && (call.errno() == LibC.EINVAL || call.errno() == LibC.ENOSYS || call.errno() == LibC.EPERM);
                if (!refused) {
                    return call;
                }
                log.warn("spawn: close_range(CLOSE_RANGE_UNSHARE) is refused ({}: an old kernel, or a seccomp"
                        + " filter); spawns copy the agent's whole fd table from now on", Os.errnoName(call.errno()));
                slots.disable();
            }
        }
        return spawnOnce(new ShimSpec(spec, env, searchPath(env), stdio, user, cgroupFd, 0, lastCapability,
                oomScoreAdj.childValue()));
    }

    private ShimSpec spawnOnce(ShimSpec call) {
        ScheduledFuture<?> guard = watched(call);
        try {
            shim.spawn(call);
            return call;
        } finally {
            if (guard != null) {
                guard.cancel(false);
            }
            Reference.reachabilityFence(call); // its native memory is the child's spec
        }
    }

    /**
     * The guard's watch over {@code call}'s child, or null when the kernel refuses the guard's
     * thread (made at the first spawn; a session's fork bomb in the agent's pid space): the spawn
     * then goes unguarded, as it did before there was a guard, rather than the agent ending.
     */
    private static ScheduledFuture<?> watched(ShimSpec call) {
        try {
            return SpawnGuard.shared().watch(call);
        } catch (OutOfMemoryError e) {
            if (!Threads.startRefused(e)) {
                throw e;
            }
            if (!guardRefusalLogged) { // once: while the kernel refuses, every spawn would say it
                guardRefusalLogged = true;
                log.warn("spawn: no thread for the spawn guard ({}): spawns are not watched for a child stuck before"
                        + " its exec until one can be made", e.getMessage());
            }
            return null;
        }
    }

    private TargetUser resolveUser(SpawnSpec spec) throws SpawnFailure {
        if (spec.user() == null) {
            return null;
        }
        try {
            return users.resolve(spec.user());
        } catch (UserDb.LookupFailure f) {
            throw new SpawnFailure(ExecReport.failure(f.stage, f.errno, spec));
        }
    }

    /**
     * The environment with HOME added at the end when it has none: the target user's home, or the
     * agent's own when the command keeps the agent's user; "/" for a uid without a passwd entry.
     */
    private List<String> withHome(List<String> env, TargetUser user) {
        for (String entry : env) {
            if (entry.startsWith("HOME=")) {
                return env;
            }
        }
        String home = user != null ? user.home() : users.homeOf(agentUid).orElse("/");
        List<String> withHome = new ArrayList<>(env.size() + 1);
        withHome.addAll(env);
        withHome.add("HOME=" + home);
        return withHome;
    }

    /** The PATH a cmd without '/' is searched in: the environment's, else execvpe's default. */
    static String searchPath(List<String> env) {
        for (String entry : env) {
            if (entry.startsWith("PATH=")) {
                return entry.substring("PATH=".length());
            }
        }
        return DEFAULT_SEARCH_PATH;
    }

    /** The failure the shim reported; a failed setrlimit is the entry at the index it reported. */
    private static ExecFailed failureOf(ShimSpec call, SpawnSpec spec) {
        ShimStage stage = call.stage();
        if (stage == ShimStage.DIED && call.overdueAt() != null) {
            return ExecReport.overdue(call.overdueAt().stageName, SpawnGuard.EXEC_DEADLINE_MILLIS, spec);
        }
        List<Rlimit> rlimits = spec.rlimits();
        if (stage == ShimStage.SETRLIMIT && call.index() >= 0 && call.index() < rlimits.size()) {
            return ExecReport.rlimitFailure(rlimits.get(call.index()), call.errno(), spec);
        }
        return ExecReport.failure(stage.stageName, call.errno(), spec);
    }

    /**
     * The fds of one spawn in progress. Until {@link #started} every fd is closed on close(); after
     * it only the child's ends are (the child has its own copies), the parent's ends go to Child.
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

        /**
         * A close-on-exec, non-blocking pipe as {parent's end, child's end}. The child's end is
         * non-blocking too, one call instead of three: the shim makes the child's 0/1/2 blocking.
         */
        int[] pipe(boolean parentReads) throws SpawnFailure {
            int[] fds = new int[2];
            if (Os.libc().pipe2(fds, LibC.O_CLOEXEC | LibC.O_NONBLOCK) != 0) {
                throw new SpawnFailure(ExecReport.failure("pipe2", Os.errno(), spec));
            }
            int parent = parentReads ? fds[0] : fds[1];
            int child = parentReads ? fds[1] : fds[0];
            parentEnds.add(parent);
            childEnds.add(child);
            return new int[] {parent, child};
        }

        /** A PTY: the master (non-blocking) is the parent's, the slave the child's. */
        Pty.Pair pty() throws SpawnFailure {
            Pty.Pair pair = Pty.open(spec);
            parentEnds.add(pair.master());
            childEnds.add(pair.slave());
            return pair;
        }

        void started() {
            started = true;
        }

        /** A child's end the parent keeps once the child is started: not closed with the others. */
        void keep(int fd) {
            childEnds.remove(Integer.valueOf(fd));
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
