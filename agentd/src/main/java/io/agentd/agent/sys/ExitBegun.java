package io.agentd.agent.sys;

import java.io.IOException;

/**
 * Whether a process has begun its exit, as the kernel marks it in /proc/PID/stat: a zombie not
 * reaped yet, or a process inside exit(2) that is not a zombie yet (its memory and files are being
 * let go). From that point a signal changes nothing of how it ends: it ends with the status it is
 * exiting with. The pid must be one that cannot be reused meanwhile (a child not yet reaped).
 */
public final class ExitBegun {
    /** PF_EXITING in the flags (field 9): set on a thread as it enters the kernel's exit, never cleared. */
    private static final long PF_EXITING = 0x4;

    private ExitBegun() {}

    /** Whether {@code pid} has begun its exit; false while it runs, and when its stat cannot be read. */
    public static boolean of(int pid) {
        try {
            return fromStat(ProcStat.read(pid, "stat"));
        } catch (IOException | RuntimeException unreadable) {
            return false;
        }
    }

    /**
     * From a stat line: PF_EXITING on a process of one thread. The flags are the thread group
     * leader's, and a leader thread that ended alone (pthread_exit) is PF_EXITING while the
     * process's other threads run on: a process of several threads is taken for running.
     */
    static boolean fromStat(String stat) {
        // From state (field 3) on: flags (9) is the 7th, num_threads (20) the 18th.
        String[] fields = ProcStat.fieldsFromState(stat);
        long flags = Long.parseLong(fields[6]);
        long threads = Long.parseLong(fields[17]);
        return (flags & PF_EXITING) != 0 && threads == 1;
    }
}
