package io.agentd.agent.session;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;

/**
 * What the agent writes down about one live session's process group, so that the next agent can
 * kill the group if this one dies: the group id, its leader's start time (to tell a reused pid from
 * the same process), and the agent that owns it (so that an agent never kills the groups of another
 * agent that is still alive and shares the state directory).
 *
 * <p>Start times are field 22 of /proc/PID/stat, in clock ticks since boot. On disk the record is
 * one line: {@code pgid start_ticks agent_pid agent_start_ticks}.
 *
 * @param pgid            the session's process group (its leader's pid)
 * @param startTicks      when the leader started
 * @param agentPid        the agent that ran the session
 * @param agentStartTicks when that agent started
 */
public record SessionGroupRecord(int pgid, long startTicks, long agentPid, long agentStartTicks) {
    /** {@link #startTicksOf} for a process that does not exist (or cannot be read). */
    public static final long NO_PROCESS = -1;
    /** A stat line is about 300 bytes; its field 22 comes well before this. */
    private static final int STAT_BYTES = 1024;

    public SessionGroupRecord {
        if (pgid <= 1 || startTicks < 0 || agentPid <= 0 || agentStartTicks < 0) {
            throw new IllegalArgumentException("not a session group record: " + pgid + " " + startTicks + " "
                    + agentPid + " " + agentStartTicks);
        }
    }

    /** The file's content. */
    public String format() {
        return pgid + " " + startTicks + " " + agentPid + " " + agentStartTicks + "\n";
    }

    /** Reads {@link #format}'s output; anything else is an IllegalArgumentException. */
    public static SessionGroupRecord parse(String text) {
        String[] fields = text.strip().split(" ");
        if (fields.length != 4) {
            throw new IllegalArgumentException("a session group record has 4 fields, not " + fields.length);
        }
        try {
            return new SessionGroupRecord(Integer.parseInt(fields[0]), Long.parseLong(fields[1]),
                    Long.parseLong(fields[2]), Long.parseLong(fields[3]));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a session group record: " + e.getMessage(), e);
        }
    }

    /**
     * When process {@code pid} started, or {@link #NO_PROCESS}. Read with plain open/read/close: it
     * runs for every session start, where java.nio's channel and decoder cost more than the read.
     */
    public static long startTicksOf(long pid) {
        byte[] stat = new byte[STAT_BYTES];
        int n = readStat(pid, stat);
        try {
            return n <= 0 ? NO_PROCESS : startTicksFromStat(stat, n);
        } catch (RuntimeException unreadable) {
            return NO_PROCESS;
        }
    }

    /**
     * Whether process {@code pid}, started at {@code startTicks}, still runs: the same process (not a
     * reused pid) and not a zombie. An agent killed while its parent does not reap it (a supervisor
     * that waits late, a shell's background job) keeps its /proc entry and start time as a zombie;
     * its sessions are a dead agent's, for the next agent to kill.
     */
    public static boolean runs(long pid, long startTicks) {
        byte[] stat = new byte[STAT_BYTES];
        int n = readStat(pid, stat);
        try {
            return n > 0 && !exitedFromStat(stat, n) && startTicksFromStat(stat, n) == startTicks;
        } catch (RuntimeException unreadable) {
            return false;
        }
    }

    /** /proc/PID/stat's first bytes into {@code into}: their count, or 0 or less when unreadable. */
    private static int readStat(long pid, byte[] into) {
        int fd = Os.libc().open(Os.cString("/proc/" + pid + "/stat"), LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        if (fd < 0) {
            return -1;
        }
        try {
            return (int) Os.libc().read(fd, into, into.length);
        } catch (RuntimeException unreadable) {
            return -1;
        } finally {
            Os.close(fd);
        }
    }

    /** Whether a stat line's state (field 3) is Z (zombie) or X (dead): the process has exited. */
    static boolean exitedFromStat(byte[] stat, int len) {
        int at = fieldsAfterName(stat, len);
        if (at >= len) {
            throw new IllegalArgumentException("no state in the stat line");
        }
        return stat[at] == 'Z' || stat[at] == 'X';
    }

    /**
     * Where field 3 (state) of a stat line starts: past the last ')', which ends the command name (it
     * may hold spaces and parentheses itself), and the space after it.
     */
    private static int fieldsAfterName(byte[] stat, int len) {
        int at = len - 1;
        while (at >= 0 && stat[at] != ')') {
            at--;
        }
        if (at < 0) {
            throw new IllegalArgumentException("no ')' in the stat line");
        }
        return at + 2;
    }

    /**
     * {@link #startTicksFromStat(String)} on the line's bytes, without a String or a split (this runs
     * for every session start).
     */
    static long startTicksFromStat(byte[] stat, int len) {
        int at = fieldsAfterName(stat, len); // field 3 (state); starttime is the 20th field from it
        for (int field = 0; field < 19; field++) {
            while (at < len && stat[at] != ' ') {
                at++;
            }
            at++;
        }
        long ticks = 0;
        int digits = 0;
        for (; at < len && stat[at] >= '0' && stat[at] <= '9'; at++, digits++) {
            ticks = ticks * 10 + (stat[at] - '0');
        }
        if (digits == 0 || digits > 18) {
            throw new IllegalArgumentException("no start time in the stat line");
        }
        return ticks;
    }

    /** Field 22 (starttime) of a /proc/PID/stat line. */
    static long startTicksFromStat(String stat) {
        // The fields after the command name (which may hold spaces and parentheses) start past the
        // last ')': state is field 3, so starttime is the 20th from there.
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(fields[19]);
    }

    /** True while the agent that wrote this record runs (the same pid and start time, not a zombie). */
    boolean ownerAlive() {
        return runs(agentPid, agentStartTicks);
    }
}
