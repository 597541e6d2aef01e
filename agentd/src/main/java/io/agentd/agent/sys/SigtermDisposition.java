package io.agentd.agent.sys;

import java.io.IOException;

/**
 * Whether a process takes SIGTERM itself, as /proc/PID/status shows it: caught (a handler), ignored
 * or blocked. A process that does none of these is ended by a SIGTERM that reaches it, with the
 * signal as its status; so if it ends with a code of its own after one was sent, its exit had begun
 * before the signal came, and the signal changed nothing (the deadline's question, Session.timedOut).
 */
public final class SigtermDisposition {
    /** SIGTERM's bit in the status masks: signal n is bit n - 1. */
    private static final long SIGTERM_BIT = 1L << (LibC.SIGTERM - 1);

    private SigtermDisposition() {}

    /** Whether {@code pid} catches, ignores or blocks SIGTERM; true when its status cannot be read (the old rule). */
    public static boolean takenItselfBy(int pid) {
        try {
            return fromStatus(ProcStat.read(pid, "status"));
        } catch (IOException | RuntimeException unreadable) {
            return true;
        }
    }

    /** From a status file: SigBlk, SigIgn or SigCgt (the main thread's, the leader's own) has SIGTERM's bit. */
    static boolean fromStatus(String status) {
        long masks = 0;
        boolean seen = false;
        for (String line : status.split("\n")) {
            if (line.startsWith("SigBlk:") || line.startsWith("SigIgn:") || line.startsWith("SigCgt:")) {
                masks |= Long.parseUnsignedLong(line.substring(7).trim(), 16);
                seen = true;
            }
        }
        return !seen || (masks & SIGTERM_BIT) != 0;
    }
}
