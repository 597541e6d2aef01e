package io.agentd.agent.spawn;

import io.agentd.agent.sys.Os;
import io.agentd.protocol.payload.Rlimit;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One agentd_spawn call's native memory: struct agentd_spawn_spec and everything it points to
 * (strings, rlimits, groups), and struct agentd_spawn_result (native-shim/agentd-shim.h). Every spec
 * field is 8 bytes, so a field's offset is its index times 8. Keep the object reachable until the
 * call has returned: it owns the memory.
 */
final class ShimSpec {
    static final int SPEC_BYTES = 22 * 8;
    static final int RESULT_BYTES = 6 * 4;

    private static final int FILE = 0;
    private static final int ARGV = 1;
    private static final int ENVP = 2;
    private static final int SEARCH_PATH = 3;
    private static final int CWD = 4;
    private static final int STDIO = 5; // 5, 6, 7
    private static final int TTY = 8;
    private static final int RLIMITS = 9;
    private static final int NRLIMITS = 10;
    private static final int SET_USER = 11;
    private static final int UID = 12;
    private static final int GID = 13;
    private static final int GROUPS = 14;
    private static final int NGROUPS = 15;
    private static final int PROFILE = 16;
    private static final int JOIN_CGROUP = 17;
    private static final int CGROUP_FD = 18;
    private static final int KEEP_BELOW = 19;
    private static final int LAST_CAP = 20;
    private static final int OOM_SCORE_ADJ = 21;

    private static final int RLIMIT_BYTES = 3 * 8;

    /** Linux's RLIMIT_ numbers (the same on x86_64 and aarch64), by PROTOCOL.md's names. */
    static final Map<String, Integer> RLIMIT_RESOURCES = Map.ofEntries(Map.entry("cpu", 0), Map.entry("fsize", 1),
            Map.entry("data", 2), Map.entry("stack", 3), Map.entry("core", 4), Map.entry("rss", 5),
            Map.entry("nproc", 6), Map.entry("nofile", 7), Map.entry("memlock", 8), Map.entry("as", 9),
            Map.entry("locks", 10), Map.entry("sigpending", 11), Map.entry("msgqueue", 12), Map.entry("nice", 13),
            Map.entry("rtprio", 14), Map.entry("rttime", 15));

    private final ByteBuffer block;
    /** The block's address, for the pointers the spec holds into it. */
    private final long blockAddress;
    private final ByteBuffer spec;
    private final ByteBuffer result;
    /** Where the next string goes, in {@link #block}. */
    private int textAt;

    /**
     * Lays everything out in one native block: the spec, the result, the rlimits, the argv and envp
     * pointer arrays, the groups, then the strings.
     *
     * @param searchPath the PATH a file without '/' is searched in
     * @param stdio      the fds for the child's 0, 1, 2
     * @param user       the credentials to switch to, or null to keep the agent's
     * @param cgroupFd   the session cgroup's directory, open, or -1: the agent's cgroup
     * @param keepBelow  0, or a bound every fd above is below: the child then copies only the fds
     *                   below it (SpawnSlots)
     * @param lastCap    the kernel's last capability ({@link LastCapability}), for the strict profile
     * @param oomScoreAdj what the child writes to its oom_score_adj ({@link OomScoreAdj#childValue}),
     *                   or null: it keeps the agent's
     */
    ShimSpec(SpawnSpec s, List<String> env, String searchPath, int[] stdio, TargetUser user, int cgroupFd,
            int keepBelow, int lastCap, String oomScoreAdj) {
        List<Rlimit> rlimits = s.rlimits();
        int[] groups = user == null ? new int[0] : user.groups();
        List<String> argv = new ArrayList<>(1 + s.args().size());
        argv.add(s.cmd());
        argv.addAll(s.args());
        List<byte[]> argvText = cStrings(argv);
        List<byte[]> envText = cStrings(env);
        byte[] file = Os.cString(s.cmd());
        byte[] path = Os.cString(searchPath);
        byte[] cwd = s.cwd() == null ? null : Os.cString(s.cwd());
        byte[] oom = oomScoreAdj == null ? null : Os.cString(oomScoreAdj);

        int rlimitsAt = SPEC_BYTES + RESULT_BYTES; // a multiple of 8, as every offset up to the strings
        int argvAt = rlimitsAt + rlimits.size() * RLIMIT_BYTES;
        int envpAt = argvAt + (argv.size() + 1) * 8;
        int groupsAt = envpAt + (env.size() + 1) * 8;
        textAt = groupsAt + groups.length * 4;
        long size = textAt + file.length + path.length + (cwd == null ? 0 : cwd.length)
                + (oom == null ? 0 : oom.length) + bytes(argvText) + bytes(envText);
        block = Os.allocate(Math.toIntExact(size));
        blockAddress = Os.address(block);
        spec = Os.slice(block, 0, SPEC_BYTES);
        result = Os.slice(block, SPEC_BYTES, RESULT_BYTES);

        put(FILE, text(file));
        put(ARGV, pointers(argvAt, argvText));
        put(ENVP, pointers(envpAt, envText));
        put(SEARCH_PATH, text(path));
        put(CWD, cwd == null ? 0 : text(cwd));
        for (int i = 0; i < 3; i++) {
            put(STDIO + i, stdio[i]);
        }
        put(TTY, s.tty() ? 1 : 0);
        for (int i = 0; i < rlimits.size(); i++) {
            Rlimit r = rlimits.get(i);
            int at = rlimitsAt + i * RLIMIT_BYTES;
            block.putLong(at, RLIMIT_RESOURCES.get(r.resource()));
            block.putLong(at + 8, r.soft());
            block.putLong(at + 16, r.hard());
        }
        put(RLIMITS, rlimits.isEmpty() ? 0 : blockAddress + rlimitsAt);
        put(NRLIMITS, rlimits.size());
        if (user != null) {
            put(SET_USER, 1);
            put(UID, Integer.toUnsignedLong(user.uid()));
            put(GID, Integer.toUnsignedLong(user.gid()));
            for (int i = 0; i < groups.length; i++) {
                block.putInt(groupsAt + i * 4, groups[i]);
            }
            put(GROUPS, groups.length == 0 ? 0 : blockAddress + groupsAt);
            put(NGROUPS, groups.length);
        }
        put(PROFILE, s.profile().ordinal());
        if (cgroupFd >= 0) {
            put(JOIN_CGROUP, 1);
            put(CGROUP_FD, cgroupFd);
        }
        put(KEEP_BELOW, keepBelow);
        put(LAST_CAP, lastCap);
        put(OOM_SCORE_ADJ, oom == null ? 0 : text(oom));
    }

    private static List<byte[]> cStrings(List<String> strings) {
        List<byte[]> encoded = new ArrayList<>(strings.size());
        for (String string : strings) {
            encoded.add(Os.cString(string));
        }
        return encoded;
    }

    private static long bytes(List<byte[]> strings) {
        long total = 0;
        for (byte[] string : strings) {
            total += string.length;
        }
        return total;
    }

    /** Copies a C string into the block; returns its address. */
    private long text(byte[] cString) {
        int at = textAt;
        block.put(at, cString);
        textAt += cString.length;
        return blockAddress + at;
    }

    /** A NULL-terminated char*[] at {@code at} (the block is zeroed: the last slot stays NULL). */
    private long pointers(int at, List<byte[]> strings) {
        for (int i = 0; i < strings.size(); i++) {
            block.putLong(at + i * 8, text(strings.get(i)));
        }
        return blockAddress + at;
    }

    private void put(int field, long value) {
        spec.putLong(field * 8, value);
    }

    ByteBuffer spec() {
        return spec;
    }

    ByteBuffer result() {
        return result;
    }

    int pid() {
        return result.getInt(0);
    }

    int pidfd() {
        return result.getInt(4);
    }

    ShimStage stage() {
        return ShimStage.of(result.getInt(8));
    }

    int errno() {
        return result.getInt(12);
    }

    /** For {@link ShimStage#SETRLIMIT}: the index of the rlimit that failed. */
    int index() {
        return result.getInt(16);
    }

    /**
     * The child's pid while it is on its way to the exec, 0 before and after (rule 9 in
     * agentd-shim.c): while this reads the pid, the child has not been reaped.
     */
    int child() {
        return result.getInt(20);
    }

    /** The stage the child was at when {@link SpawnGuard} killed it for its deadline; null if it did not. */
    private volatile ShimStage overdueAt;

    /** {@link SpawnGuard} is about to kill the child {@code pid} for its deadline (its thread). */
    void overdue(int pid) {
        overdueAt = stage();
    }

    ShimStage overdueAt() {
        return overdueAt;
    }
}
