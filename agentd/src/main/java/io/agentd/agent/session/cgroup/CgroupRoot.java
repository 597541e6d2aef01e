package io.agentd.agent.session.cgroup;

import io.agentd.agent.session.SessionGroupRecord;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cgroup v2 subtree the agent owns, under which every session gets a cgroup of its own (fs2 in
 * runc's libcontainer is the model). Found from /proc/self/mountinfo and /proc/self/cgroup, or given
 * with --cgroup-root:
 * <ul>
 * <li>the agent in a cgroup named {@code agent}: the guest's init put it in a leaf of its own
 *     (cgroup v2 lets only a cgroup without processes hand controllers to its children), and the
 *     parent is the subtree, its controllers already enabled;
 * <li>the agent in the hierarchy's root (a host, or a hybrid layout's unified mount): the subtree is
 *     {@code agentd} under the root;
 * <li>anywhere else: {@code agentd} under the agent's own cgroup; no controller can be enabled there
 *     while the agent's cgroup holds processes, so sessions are killed and counted but not limited.
 * </ul>
 * A wanted controller the subtree lacks is named with the reason, at start and in the refusal of a
 * limit that needs it: a parent that holds processes (the agent's own, in a
 * systemd service's cgroup with Delegate=yes or a container's), a parent that does not enable it, or
 * none above that has it (bound to cgroup v1 on a hybrid host, disabled). The agent does not move
 * itself into a leaf to get them: its cgroup may hold processes that are not its own (a launcher,
 * a container's init), which would keep the controllers out all the same, and the layout above its
 * subtree is the service manager's or the runtime's (systemd's DelegateSubgroup=agent puts it in one).
 * Where there is no writable cgroup2 the agent says so once and sessions stay in its own cgroup,
 * ended by their process groups as before.
 *
 * <p>Session cgroups are made in {@link #SESSIONS}, a cgroup of the subtree that holds them and
 * nothing else (in the guest the subtree also holds the agent's own leaf): its memory.max
 * (--sessions-memory-max, {@link SessionsMemoryMax}) bounds all the sessions together, what they
 * leave charged after they end included (tmpfs files), so that a full subtree is an OOM among the
 * sessions, never the machine's, and never one that could take the agent. A subtree where it cannot
 * be made has the sessions' cgroups in itself, as before, and says so.
 *
 * <p>Session cgroups are named after the agent that made them ({@code s-PID-STARTTICKS-SEQ}), so a
 * new agent tells its dead predecessor's leftovers from another live agent's sessions.
 *
 * <p>{@link #open} is the opening sequence; each step's work is in a class of its own:
 * {@link SubtreeDetection} finds the subtree, {@link ControllerEnabler} enables the controllers (in
 * the subtree, then in {@link #SESSIONS}), {@link MissingControllers} words why one is missing,
 * {@link SessionsMemoryMaxWriter} sets the sessions' memory.max, and {@link DeadAgentLeftovers}
 * ends a dead agent's session cgroups ({@link #killLeftovers}). Their log lines are all under
 * CgroupRoot's name, as the start's lines about the subtree were before they moved.
 */
public final class CgroupRoot {
    private static final Logger log = LoggerFactory.getLogger(CgroupRoot.class);
    static final String AGENT_LEAF = "agent";
    static final String SUBTREE = "agentd";
    static final List<String> CONTROLLERS = List.of("cpu", "memory", "pids");
    /** The cgroup of the subtree that holds every session's cgroup, and its memory limit. */
    static final String SESSIONS = "sessions";
    private static final Path PROC_CGROUPS = Path.of("/proc/cgroups");
    private static final Path PROC_MEMINFO = Path.of("/proc/meminfo");

    private final Path dir;
    /** Where session cgroups are made: {@link #SESSIONS} in {@link #dir}, or {@link #dir} itself when it cannot be. */
    private final Path sessionsDir;
    /** The sessions' memory limit in a few words, for the serving line. */
    private final String memoryLimit;
    private final Set<String> controllers;
    /** Each wanted controller the subtree has not, with the reason (the start line says it, a refusal too). */
    private final Map<String, String> missing;
    private final boolean hasKill;
    private final String ownerPrefix;
    /** Names are taken on the loop and by SessionCgroups' housekeeping thread (spares). */
    private final AtomicLong nextSeq = new AtomicLong();

    private CgroupRoot(Path dir, Path sessionsDir, String memoryLimit, Set<String> controllers,
            Map<String, String> missing, boolean hasKill, long agentPid, long agentStartTicks) {
        this.dir = dir;
        this.sessionsDir = sessionsDir;
        this.memoryLimit = memoryLimit;
        this.controllers = controllers;
        this.missing = missing;
        this.hasKill = hasKill;
        this.ownerPrefix = "s-" + agentPid + "-" + agentStartTicks + "-";
    }

    /**
     * The subtree for {@code option} (--cgroup-root: a path, "none", or null to find it), prepared;
     * null, after one log line saying why, when sessions cannot have cgroups.
     */
    public static CgroupRoot open(String option, SessionsMemoryMax memoryMax) {
        return open(option, memoryMax, PROC_CGROUPS, PROC_MEMINFO);
    }

    /** {@link #open(String, SessionsMemoryMax)} with the sessions' memory limit the default. */
    static CgroupRoot open(String option) {
        return open(option, SessionsMemoryMax.AUTO);
    }

    /** {@link #open(String)} with the kernel's controller table read from {@code procCgroups} (tests: a file of theirs). */
    static CgroupRoot open(String option, Path procCgroups) {
        return open(option, SessionsMemoryMax.AUTO, procCgroups, PROC_MEMINFO);
    }

    /**
     * {@link #open(String, SessionsMemoryMax)} with the kernel's controller table and memory read from
     * {@code procCgroups} and {@code procMeminfo} (tests: files of theirs).
     */
    static CgroupRoot open(String option, SessionsMemoryMax memoryMax, Path procCgroups, Path procMeminfo) {
        if ("none".equals(option)) {
            log.info("cgroups off (--cgroup-root none): sessions are ended by their process groups");
            return null;
        }
        Path dir = option != null ? Path.of(option) : detectedSubtree();
        if (dir == null) {
            return null; // said by detectedSubtree
        }
        long pid = ProcessHandle.current().pid();
        long startTicks = SessionGroupRecord.startTicksOf(pid);
        if (!usable(dir)) {
            return null; // said by usable
        }
        Map<String, String> missing = new LinkedHashMap<>();
        Set<String> enabled = ControllerEnabler.inSubtree(dir, missing, procCgroups, pid);
        boolean hasKill = Files.exists(dir.resolve("cgroup.kill"));
        StringBuilder notes = new StringBuilder();
        Path sessionsDir = sessionsCgroup(dir, enabled, missing, notes);
        String memoryLimit = sessionsMemoryLimit(dir, sessionsDir, enabled, memoryMax, procMeminfo, notes);
        log.info("session cgroups under {} (controllers: {}{}{}{})", sessionsDir,
                enabled.isEmpty() ? "none" : String.join(" ", enabled), MissingControllers.startLineText(missing), notes,
                hasKill ? "" : "; no cgroup.kill, killing pid by pid");
        return new CgroupRoot(dir, sessionsDir, memoryLimit, enabled, missing, hasKill, pid, startTicks);
    }

    /** The subtree found from /proc/self/mountinfo and /proc/self/cgroup; null, said in a log line, when none. */
    private static Path detectedSubtree() {
        SubtreeDetection found = SubtreeDetection.from(readOrEmpty(Path.of("/proc/self/mountinfo")),
                readOrEmpty(Path.of("/proc/self/cgroup")));
        if (found.dir() == null) {
            log.warn("no cgroups for sessions ({}): sessions are ended by their process groups, "
                    + "their descendants that leave the group are not, and limits are refused", found.reason());
        }
        return found.dir();
    }

    /** Whether {@code dir} is (or, made now, becomes) a writable cgroup2 directory; when not, a log line says why. */
    private static boolean usable(Path dir) {
        try {
            if (!Files.isDirectory(dir)) {
                makeInCgroup2(dir);
            }
            if (!Files.exists(dir.resolve("cgroup.procs")) || !Files.isWritable(dir.resolve("cgroup.procs"))) {
                throw new IOException("not a writable cgroup2 directory");
            }
            // cgroup v1 has cgroup.procs too, but no cgroup.controllers, cgroup.events or cgroup.kill:
            // its sessions would never be seen empty, and their figures never read.
            if (!Files.exists(dir.resolve("cgroup.controllers"))) {
                throw new IOException("not a cgroup2 directory (no cgroup.controllers: cgroup v1?)");
            }
        } catch (IOException | SecurityException e) {
            log.warn("no cgroups for sessions ({} cannot be used: {}): sessions are ended by their process groups, "
                    + "their descendants that leave the group are not, and limits are refused", dir, e.getMessage());
            return false;
        }
        return true;
    }

    /**
     * The sessions' memory limit in a few words for the serving line, set ({@link SessionsMemoryMaxWriter})
     * when the sessions have a cgroup of their own with the memory controller, and said in {@code notes}.
     */
    private static String sessionsMemoryLimit(Path dir, Path sessionsDir, Set<String> enabled, SessionsMemoryMax memoryMax,
            Path procMeminfo, StringBuilder notes) {
        if (!enabled.contains("memory")) {
            return "sessions' memory not limited (no memory controller)";
        }
        if (sessionsDir.equals(dir)) {
            return "sessions' memory not limited (no " + SESSIONS + " cgroup)";
        }
        return SessionsMemoryMaxWriter.write(sessionsDir, memoryMax, procMeminfo, notes);
    }

    /**
     * The cgroup {@link #SESSIONS} in {@code dir}, made if missing, with the controllers {@code enabled}
     * holds enabled for its children; {@code enabled} keeps those it could enable there, {@code
     * missing} gets the others. {@code dir} itself when it cannot be made or is not a cgroup (said in
     * {@code notes}): the sessions then run there as before, without a limit over them all.
     */
    private static Path sessionsCgroup(Path dir, Set<String> enabled, Map<String, String> missing, StringBuilder notes) {
        Path sessions = dir.resolve(SESSIONS);
        boolean made = false;
        if (!Files.isDirectory(sessions, LinkOption.NOFOLLOW_LINKS)) {
            if (Os.libc().mkdirat(LibC.AT_FDCWD, Os.cString(sessions.toString()), 0755) != 0) {
                int err = Os.errno();
                notes.append("; session cgroups in ").append(dir).append(" itself, not limited as a whole: cannot make ")
                        .append(sessions).append(": ").append(Os.errnoDescription(err)).append(" (")
                        .append(Os.errnoName(err)).append(')');
                return dir;
            }
            made = true;
        }
        if (!Files.exists(sessions.resolve("cgroup.controllers"))) {
            if (made) {
                rmdirQuietly(sessions);
            }
            notes.append("; session cgroups in ").append(dir).append(" itself, not limited as a whole: ")
                    .append(sessions).append(" is not a cgroup2 directory");
            return dir;
        }
        ControllerEnabler.inSessions(sessions, enabled, missing);
        return sessions;
    }

    private static void rmdirQuietly(Path dir) {
        try {
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            // left: a directory of no use, and of nobody's harm
        }
    }

    /**
     * Makes a missing subtree: its last component alone, and only in a cgroup2 directory (one with
     * cgroup.controllers, a file cgroup v1 and other file systems do not have). A --cgroup-root that
     * names no cgroup2 (a typo, the wrong mount) is refused with nothing made, neither the directory
     * nor its parents, as the detected subtree's parent always exists.
     */
    private static void makeInCgroup2(Path dir) throws IOException {
        Path parent = dir.toAbsolutePath().getParent();
        if (parent == null || !Files.exists(parent.resolve("cgroup.controllers"))) {
            throw new IOException("not a writable cgroup2 directory, and not made: "
                    + (parent == null ? "it has no parent" : parent + " is not a cgroup2 directory"));
        }
        try {
            Files.createDirectory(dir);
        } catch (FileAlreadyExistsException madeMeanwhile) {
            // another agent starting made it, or a file is there: checked below as what it is
        }
    }

    private static String readOrEmpty(Path file) {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    public Path dir() {
        return dir;
    }

    /** Where session cgroups are made: {@link #SESSIONS} in {@link #dir()}, or the subtree itself when it cannot be. */
    Path sessionsDir() {
        return sessionsDir;
    }

    /** The sessions' memory limit in a few words ("sessions' memory.max 286 MiB"), for the serving line. */
    public String memoryLimit() {
        return memoryLimit;
    }

    /**
     * How often the sessions' own limit was reached and the OOM killer ran for it (the sessions'
     * cgroup's memory.events.local oom; a session's own memory_max counts in its cgroup, not here);
     * 0 without one.
     */
    long sessionsOoms() {
        if (sessionsDir.equals(dir) || !controllers.contains("memory")) {
            return 0;
        }
        Long ooms = FlatKeyed.read(sessionsDir.resolve("memory.events.local")).get("oom");
        return ooms == null ? 0 : ooms;
    }

    /**
     * What the sessions' cgroup holds, in words: "DIR holds 298 MiB of its memory.max 300 MiB, 290
     * MiB of it files in memory (...)". Read when the sessions' limit was reached: four reads.
     */
    String memoryState() {
        long current = SessionsMemoryMaxWriter.bytesOrMax(CgroupFs.read(sessionsDir.resolve("memory.current")));
        long max = SessionsMemoryMaxWriter.bytesOrMax(CgroupFs.read(sessionsDir.resolve("memory.max")));
        Long shmem = FlatKeyed.read(sessionsDir.resolve("memory.stat")).get("shmem");
        return sessionsDir + " holds " + (current < 0 ? "?" : SessionsMemoryMax.mib(current)) + " of its memory.max "
                + (max < 0 ? "max" : SessionsMemoryMax.mib(max)) + (shmem == null ? "" : ", "
                        + SessionsMemoryMax.mib(shmem) + " of it files in memory (memory.stat shmem: tmpfs files such"
                        + " as /tmp's and /dev/shm's, which stay charged to the sessions after the session that wrote"
                        + " them has ended, until they are removed; the fs requests, Remove among them, are the"
                        + " agent's own and work while sessions cannot)");
    }

    boolean hasController(String controller) {
        return controllers.contains(controller);
    }

    /** Why the subtree has not {@code controller} (one of {@link #CONTROLLERS} it lacks); null if it has. */
    String whyNot(String controller) {
        return missing.get(controller);
    }

    /** A new, empty session cgroup's directory name, unique for this agent. */
    String nextName() {
        return ownerPrefix + nextSeq.getAndIncrement();
    }

    SessionCgroup cgroupAt(Path sessionDir) {
        return new SessionCgroup(sessionDir, hasKill, controllers.contains("memory"));
    }

    /**
     * At start, before serving: kills everything in the session cgroups of agents no longer running
     * (a pid now running with another start time is another process), waits for them to empty and
     * removes them ({@link DeadAgentLeftovers}). Another live agent's cgroups are left alone.
     *
     * @return how many cgroups held processes
     */
    public int killLeftovers() {
        return new DeadAgentLeftovers(this).kill();
    }
}
