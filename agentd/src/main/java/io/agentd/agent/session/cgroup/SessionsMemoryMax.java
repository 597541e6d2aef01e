package io.agentd.agent.session.cgroup;

import io.agentd.protocol.ByteCount;

/**
 * --sessions-memory-max: the memory.max of the cgroup that holds every session's cgroup
 * ({@link CgroupRoot#SESSIONS}), so that all the sessions together, and what they leave charged
 * when they end, stay below the machine's memory and the agent and the kernel keep theirs. A
 * session's cgroup is limited by its own memory_max only when its host asks, and memory that no
 * process holds (files a session wrote to a tmpfs, /tmp or /dev/shm) is not the OOM killer's to
 * free: with nothing above the sessions, a few of them filling tmpfs files had the kernel kill the
 * agent, then panic (a review, in a 512 MiB guest). With the limit, a full subtree is an OOM
 * among the sessions (the memory cgroup's), never the whole machine's.
 *
 * <ul>
 * <li>{@link #AUTO} (the default): of the memory the sessions could have, {@link #RESERVE} is kept
 *     for the agent and the kernel. That memory is MemTotal less the files held in memory outside
 *     the sessions (/proc/meminfo's Shmem less the sessions' own shmem: the guest's root file system
 *     lives in memory, some 55-90 MiB of it), or, when lower, a memory.max set on the subtree or a
 *     cgroup above it (an operator's or a service manager's: MemoryMax=).
 * <li>BYTES (4096, 512m, 2g): that many bytes; N%: that share of MemTotal (systemd's MemoryMax=N%).
 *     Taken as given, whatever the cgroups above allow.
 * <li>{@link #NONE}: no limit (memory.max "max").
 * </ul>
 *
 * @param percent a share of MemTotal (1-100), or 0 when {@code bytes} or neither is meant
 * @param bytes   a count of bytes, or 0 when {@code percent} or neither is meant
 * @param limited false for none
 */
public record SessionsMemoryMax(long bytes, int percent, boolean limited) {
    /** The default: MemTotal, less what is held in memory outside the sessions, less {@link #RESERVE}. */
    public static final SessionsMemoryMax AUTO = new SessionsMemoryMax(0, 0, true);
    public static final SessionsMemoryMax NONE = new SessionsMemoryMax(0, 0, false);
    /**
     * What {@link #AUTO} keeps for the agent and the kernel. The agent's peak RSS is 52-68 MiB with
     * 1000 sessions and 84-100 MB with 4000-10,000 (BENCHMARKS.md); some 20 MiB of that is the
     * root file system's files it maps (libjvm, the AppCDS archive), already counted in Shmem. The
     * kernel's own, not charged to the sessions (its slab, the agent's page tables and socket
     * buffers, the free-page watermarks), is some 20-30 MiB in a 512 MiB guest.
     */
    public static final long RESERVE = 128L << 20;
    /**
     * {@link #AUTO} never goes below this: a guest too small for the reserve still runs a shell in a
     * session, and the start line says the agent may then be short.
     */
    public static final long FLOOR = 64L << 20;
    private static final long MIB = 1L << 20;

    /** The option's value: BYTES, N% or none; null when it is none of them (or zero). */
    public static SessionsMemoryMax parse(String text) {
        if (text.equals("none")) {
            return NONE;
        }
        if (text.matches("\\d{1,3}%")) {
            int p = Integer.parseInt(text.substring(0, text.length() - 1));
            return p >= 1 && p <= 100 ? new SessionsMemoryMax(0, p, true) : null;
        }
        long n = ByteCount.parse(text).orElse(0);
        return n > 0 ? new SessionsMemoryMax(n, 0, true) : null;
    }

    /**
     * What the machine and the cgroups above tell of the memory the sessions can have.
     *
     * @param memTotal      /proc/meminfo's MemTotal in bytes, or -1 when unknown
     * @param shmem         /proc/meminfo's Shmem in bytes (tmpfs, the root file system when it lives in
     *                      memory, shared memory), or -1 when unknown
     * @param sessionsShmem the shmem already charged to the sessions (their cgroup's memory.stat):
     *                      files earlier sessions left, which the limit covers and so are not held
     *                      outside it
     * @param aboveMax      the lowest memory.max of the subtree and the cgroups above it, or -1 for none
     * @param aboveDir      the cgroup that has it, or null
     */
    record Facts(long memTotal, long shmem, long sessionsShmem, long aboveMax, String aboveDir) {}

    /**
     * The limit to write, or -1 for none, with how it was reached (said in the start line).
     *
     * @param bytes -1: "max"
     */
    record Limit(long bytes, String why) {}

    /** The limit this option gives with these facts. */
    Limit limitFor(Facts f) {
        if (!limited) {
            return new Limit(-1, "not limited (--sessions-memory-max none)");
        }
        if (bytes > 0) {
            return new Limit(bytes, "--sessions-memory-max " + exact(bytes));
        }
        if (f.memTotal() <= 0) {
            return new Limit(-1, "not limited: MemTotal is not in /proc/meminfo");
        }
        if (percent > 0) {
            return new Limit(wholeMib(f.memTotal() / 100 * percent), "--sessions-memory-max " + percent + "% of MemTotal "
                    + mib(f.memTotal()));
        }
        long outside = f.shmem() < 0 ? 0 : Math.max(0, f.shmem() - Math.max(0, f.sessionsShmem()));
        long room = f.memTotal() - outside;
        String of = "MemTotal " + mib(f.memTotal()) + (outside == 0 ? ""
                : " less " + mib(outside) + " of files held in memory outside the sessions (Shmem: the root file"
                        + " system when it lives in memory, tmpfs)");
        if (f.aboveMax() >= 0 && f.aboveMax() < room) {
            room = f.aboveMax();
            of = "memory.max " + mib(f.aboveMax()) + " of " + f.aboveDir();
        }
        long limit = wholeMib(room - RESERVE);
        if (limit < FLOOR) {
            return new Limit(FLOOR, mib(FLOOR) + ", the least it is given: " + of + " leaves less than that past the "
                    + mib(RESERVE) + " kept for the agent and the kernel, which may then be short of memory (give the"
                    + " machine more, or set --sessions-memory-max)");
        }
        return new Limit(limit, of + ", less " + mib(RESERVE) + " kept for the agent and the kernel");
    }

    /** Rounded down to whole MiB, as the computed limits are (the log says them exactly). */
    private static long wholeMib(long bytes) {
        return bytes / MIB * MIB;
    }

    /** A figure for the log: whole MiB, rounded down (bytes below one). */
    static String mib(long bytes) {
        return bytes < MIB ? bytes + " bytes" : (bytes >> 20) + " MiB";
    }

    /** A limit for the log, exact: whole MiB, or its bytes. */
    static String exact(long bytes) {
        return bytes % MIB == 0 && bytes > 0 ? (bytes >> 20) + " MiB" : bytes + " bytes";
    }
}
