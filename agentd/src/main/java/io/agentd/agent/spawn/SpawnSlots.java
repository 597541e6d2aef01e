package io.agentd.agent.spawn;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.util.Arrays;

/**
 * Low fd numbers kept for spawning while the agent holds many fds (rule 8 in native-shim's
 * agentd-shim.c). Each slot is a close-on-exec /dev/null from the agent's start, so the numbers stay
 * taken. For a spawn, the fds the child needs are duplicated onto the slots, the child copies only
 * the fds below {@link #keepBelow} instead of the agent's whole table, and the slots get their
 * /dev/null back once the child has exec'd (a slot left holding a pipe end would keep that pipe
 * open). Worth it only past {@link #WORTH_IT_FROM}: below that, the few fds a clone copies and an
 * exec closes cost less than the duplications. One set per process ({@link #shared}): the slots are
 * the process's low fd numbers. A spawn holds the object's lock from {@link #place} to
 * {@link #release}.
 */
final class SpawnSlots {
    /** A spawn uses the slots when one of its fds is numbered this high or higher (the table is that large). */
    static final int WORTH_IT_FROM = 256;
    /** stdin, stdout and stderr ends, and the session cgroup's fd; a PTY needs two (the slave, the cgroup). */
    static final int SLOTS = 4;
    /** Slots numbered past this (an agent that opened many fds before the spawner) are not worth keeping. */
    private static final int HIGHEST_USEFUL_SLOT = 64;

    /** What a slot holds between spawns, and gets back after one. */
    private final int devNull;
    private final int[] slots;
    /** 0 when there are no slots, or a kernel refused them ({@link #disable}). */
    private int keepBelow;
    /** Slots holding a spawn's fds now (the first ones), until {@link #release}. */
    private int used;
    /** Spawns that went through the slots (a test's proof that they did). */
    private long placements;

    private SpawnSlots(int devNull, int[] slots) {
        this.devNull = devNull;
        this.slots = slots;
        this.keepBelow = slots.length == 0 ? 0 : Arrays.stream(slots).max().getAsInt() + 1;
    }

    /** No slots: every spawn copies the agent's table, as before. */
    static SpawnSlots none() {
        return new SpawnSlots(-1, new int[0]);
    }

    private static final class Shared {
        static final SpawnSlots SLOTS = reserve();
    }

    /** The process's slots, reserved at the first call. */
    static SpawnSlots shared() {
        return Shared.SLOTS;
    }

    /** The kernel refused the unshare: from now on no spawn uses the slots (they stay reserved, unused). */
    void disable() {
        keepBelow = 0;
    }

    /**
     * Takes {@value #SLOTS} low fds, if this kernel has CLOSE_RANGE_UNSHARE (Linux 5.9) and they
     * come low enough; otherwise {@link #none}.
     */
    static SpawnSlots reserve() {
        if (!kernelAtLeast(System.getProperty("os.version", ""), 5, 9)) {
            return none();
        }
        LibC libc = Os.libc();
        int devNull = libc.open(Os.cString("/dev/null"), LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        if (devNull < 0) {
            return none();
        }
        int[] slots = new int[SLOTS];
        for (int i = 0; i < SLOTS; i++) {
            slots[i] = libc.fcntl(devNull, LibC.F_DUPFD_CLOEXEC, 3);
        }
        if (Arrays.stream(slots).anyMatch(fd -> fd < 3 || fd > HIGHEST_USEFUL_SLOT)) {
            Arrays.stream(slots).filter(fd -> fd >= 0).forEach(libc::close);
            libc.close(devNull);
            return none();
        }
        return new SpawnSlots(devNull, slots);
    }

    /** "6.1.0-18-amd64" against major.minor. */
    static boolean kernelAtLeast(String release, int major, int minor) {
        String[] parts = release.split("[.-]", 3);
        try {
            int ma = Integer.parseInt(parts[0]);
            int mi = parts.length > 1 ? Integer.parseInt(parts[1]) : 0;
            return ma > major || (ma == major && mi >= minor);
        } catch (NumberFormatException e) {
            return false;
        }
    }

    long placements() {
        return placements;
    }

    /** The bound for the shim's keep_below: every slot is below it; 0 when there are no slots. */
    int keepBelow() {
        return keepBelow;
    }

    /** True when a spawn of these fds should use the slots: there are slots, and the agent's table is large. */
    boolean worthIt(int... fds) {
        if (keepBelow == 0) {
            return false;
        }
        for (int fd : fds) {
            if (fd >= WORTH_IT_FROM) {
                return true;
            }
        }
        return false;
    }

    /**
     * Duplicates each distinct fd of {@code fds} (-1s are left as they are) onto a slot; returns the
     * same list in slot numbers. {@link #release} must follow, whatever the spawn's outcome.
     */
    int[] place(int[] fds) {
        placements++;
        int[] placed = new int[fds.length];
        int[] sources = new int[SLOTS];
        for (int i = 0; i < fds.length; i++) {
            int fd = fds[i];
            if (fd < 0) {
                placed[i] = fd;
                continue;
            }
            int slot = -1;
            for (int s = 0; s < used; s++) {
                if (sources[s] == fd) {
                    slot = slots[s];
                    break;
                }
            }
            if (slot < 0) {
                if (used == SLOTS) {
                    throw new IllegalArgumentException("more than " + SLOTS + " distinct fds for the slots");
                }
                slot = slots[used];
                sources[used++] = fd;
                dup3(fd, slot);
            }
            placed[i] = slot;
        }
        return placed;
    }

    /** The slots {@link #place} used get their /dev/null back: they no longer hold the child's fds. */
    void release() {
        for (int s = 0; s < used; s++) {
            dup3(devNull, slots[s]);
        }
        used = 0;
    }

    private static void dup3(int from, int to) {
        if (Os.libc().dup3(from, to, LibC.O_CLOEXEC) < 0) {
            throw new IllegalStateException("dup3(" + from + ", " + to + "): " + Os.errnoName(Os.errno()));
        }
    }
}
