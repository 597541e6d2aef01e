package io.agentd.agent.session.cgroup;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.protocol.payload.ResourceUsage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * One session's cgroup: the fd its child joins through, its end with everything in it, what it
 * counted, and its removal. {@link #NONE} stands for a session without one (no cgroup2): every call
 * does nothing and the usage is unknown.
 */
public class SessionCgroup {
    /** A session in the agent's own cgroup. */
    public static final SessionCgroup NONE = new SessionCgroup(null, false, false);

    private static final long POLL_MILLIS = 1;
    /** Rounds of the pid-by-pid kill: each catches what forked during the one before. */
    private static final int KILL_ROUNDS = 20;

    private final Path dir;
    private final boolean hasKill;
    /** The memory controller is on: memory.peak and memory.events exist (not looked for otherwise). */
    private final boolean hasMemory;
    private int fd = -1;
    /** A usage read so far said the OOM killer took one of its processes. */
    private boolean oomKillSeen;

    SessionCgroup(Path dir, boolean hasKill, boolean hasMemory) {
        this.dir = dir;
        this.hasKill = hasKill;
        this.hasMemory = hasMemory;
    }

    /** Null for {@link #NONE}. */
    public Path dir() {
        return dir;
    }

    /**
     * The cgroup's directory, open for the spawn: the child is created in the cgroup it names
     * (clone3's CLONE_INTO_CGROUP) or joins it through its cgroup.procs (native-shim, rule 7); -1
     * for NONE or once closed.
     */
    public int fd() {
        return fd;
    }

    /** Opens the directory for the spawn; returns 0 or the errno. */
    int openFd() {
        fd = CgroupFs.open(dir, LibC.O_RDONLY | LibC.O_DIRECTORY);
        return fd < 0 ? Os.errno() : 0;
    }

    /** After the spawn: the child is in the cgroup (or failed to get there), the agent needs the fd no more. */
    public void closeFd() {
        if (fd >= 0) {
            Os.close(fd);
            fd = -1;
        }
    }

    /** True while some process is in the cgroup (cgroup.events populated). */
    public boolean populated() {
        if (dir == null) {
            return false;
        }
        String events = CgroupFs.read(dir.resolve("cgroup.events"));
        if (events == null) {
            return false; // gone already
        }
        Long populated = FlatKeyed.parse(events).get("populated");
        return populated == null || populated != 0;
    }

    /**
     * SIGKILL to every process in the cgroup, however it left the session's process group (setsid, a
     * double fork), then a wait of at most {@code waitMillis} for it to be empty, so that what the
     * caller sends next (exited, ready) comes after their deaths.
     */
    public void kill(long waitMillis) {
        if (dir == null) {
            return;
        }
        if (!hasKill || CgroupFs.write(dir.resolve("cgroup.kill"), "1") != 0) {
            killPidByPid();
        }
        long deadline = System.nanoTime() + waitMillis * 1_000_000;
        while (populated() && System.nanoTime() - deadline < 0) {
            try {
                Thread.sleep(POLL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /**
     * Kernels before 5.14 have no cgroup.kill: freeze the cgroup, so nothing forks while its pids are
     * read and killed, then thaw it for the signals to be delivered (runc's signalAllProcesses). The
     * freeze covers the subtree, and so does the read: a session (root may) can move a process into a
     * cgroup it made below its own, which the session cgroup's cgroup.procs does not list.
     */
    private void killPidByPid() {
        boolean frozen = CgroupFs.write(dir.resolve("cgroup.freeze"), "1") == 0;
        for (int round = 0; round < KILL_ROUNDS; round++) {
            boolean found = false;
            for (Path cgroup : subtree(dir)) {
                String procs = CgroupFs.read(cgroup.resolve("cgroup.procs"));
                if (procs == null || procs.isBlank()) {
                    continue;
                }
                for (String pid : procs.trim().split("\\s+")) {
                    int n = Integer.parseInt(pid);
                    if (n > 0) { // 0: a process outside the agent's pid namespace; kill(0) is the agent's own group
                        Os.kill(n, LibC.SIGKILL);
                        found = true;
                    }
                }
            }
            if (!found || frozen) {
                break; // nothing could fork meanwhile
            }
        }
        if (frozen) {
            CgroupFs.write(dir.resolve("cgroup.freeze"), "0");
        }
    }

    /** What the cgroup counted: CPU time (cpu.stat), peak memory and OOM kills where the memory controller is on. */
    public ResourceUsage usage() {
        if (dir == null) {
            return ResourceUsage.UNKNOWN;
        }
        String cpuStat = CgroupFs.read(dir.resolve("cpu.stat"));
        if (!hasMemory) {
            return usageOf(cpuStat, null, null);
        }
        ResourceUsage usage = usageOf(cpuStat, CgroupFs.read(dir.resolve("memory.peak")),
                CgroupFs.read(dir.resolve("memory.events")));
        oomKillSeen |= Boolean.TRUE.equals(usage.oomKilled());
        return usage;
    }

    /** Whether a {@link #usage()} read so far said the OOM killer took one of its processes (no file is read). */
    boolean oomKillSeen() {
        return oomKillSeen;
    }

    /** The usage from the three files' texts, each null when missing. */
    static ResourceUsage usageOf(String cpuStat, String memoryPeak, String memoryEvents) {
        Map<String, Long> cpu = cpuStat == null ? Map.of() : FlatKeyed.parse(cpuStat);
        Long peak = null;
        if (memoryPeak != null) {
            try {
                peak = Long.parseLong(memoryPeak.trim());
            } catch (NumberFormatException e) {
                peak = null;
            }
        }
        Boolean oomKilled = null;
        if (memoryEvents != null) {
            Long kills = FlatKeyed.parse(memoryEvents).get("oom_kill");
            oomKilled = kills == null ? null : kills > 0;
        }
        return new ResourceUsage(cpu.get("user_usec"), cpu.get("system_usec"), peak, oomKilled);
    }

    /**
     * Removes the cgroup if it is empty, with the cgroups its session made inside it (a root session
     * may, and a tool that nests cgroups does); true once it is gone.
     */
    public boolean remove() {
        if (dir == null) {
            return true;
        }
        closeFd();
        // rmdir: the kernel refuses it (EBUSY) while processes are inside, and while child cgroups
        // remain, which would then stay for good, retried every sweep and by every later agent.
        // Those go only once nothing lives in the subtree: a daemon the session left running may
        // still use the cgroups it made (one made and not yet joined, limits set on another).
        return rmdir(dir) || (!populated() && removeChildCgroups(dir) && rmdir(dir));
    }

    private static boolean sameFileSystem(Path p, FileStore fs) {
        try {
            return Files.getFileStore(p).equals(fs);
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean rmdir(Path d) {
        try {
            Files.deleteIfExists(d);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * {@code d} and every cgroup below it, the deepest first; {@code d} alone when they cannot be
     * listed. Only directories of {@code d}'s own file system: nothing mounted below it is touched.
     */
    private static List<Path> subtree(Path d) {
        try (Stream<Path> below = Files.walk(d)) { // follows no links
            FileStore cgroupFs = Files.getFileStore(d);
            return below.filter(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) && sameFileSystem(p, cgroupFs))
                    .sorted(Comparator.reverseOrder()).toList();
        } catch (IOException | UncheckedIOException e) {
            return List.of(d);
        }
    }

    /** rmdir of every cgroup below {@code d}, the deepest first; false when there is none. */
    private static boolean removeChildCgroups(Path d) {
        List<Path> children = subtree(d).stream().filter(p -> !p.equals(d)).toList();
        children.forEach(SessionCgroup::rmdir); // one that is still populated stays; the retry says so
        return !children.isEmpty();
    }

    @Override
    public String toString() {
        return dir == null ? "(no cgroup)" : dir.toString();
    }
}
