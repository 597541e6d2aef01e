package io.agentd.agent.sys;

/**
 * How a process ended, in the shell convention the protocol uses (DESIGN.md decision 6): a normal
 * exit keeps its code; a death by signal N has code 128 + N and names the signal.
 *
 * @param code   the exit code, or 128 + signal
 * @param signal the signal that killed the process, or null for a normal exit
 */
public record ExitStatus(int code, Integer signal) {

    /** Decodes a status from waitpid / wait4 (the int the kernel fills in). */
    public static ExitStatus fromWaitStatus(int status) {
        int termSignal = status & 0x7f;
        if (termSignal == 0) {
            return new ExitStatus((status >> 8) & 0xff, null);
        }
        if (termSignal != 0x7f) {
            return new ExitStatus(128 + termSignal, termSignal);
        }
        throw new IllegalArgumentException("wait status 0x" + Integer.toHexString(status)
                + " is a stop/continue report, not an exit");
    }

    /** From waitid's siginfo: si_code CLD_EXITED (1) carries the code, CLD_KILLED/CLD_DUMPED the signal. */
    public static ExitStatus fromSiginfo(int siCode, int siStatus) {
        return switch (siCode) {
            case 1 -> new ExitStatus(siStatus, null);
            case 2, 3 -> new ExitStatus(128 + siStatus, siStatus);
            default -> throw new IllegalArgumentException("si_code " + siCode + " is not an exit");
        };
    }

    /**
     * Blocks until {@code pid} (a child of this process) exits and reaps it. For tests and simple
     * callers; the daemon's reaper does its own waiting.
     *
     * @throws IllegalStateException when waitpid fails (no such child)
     * @throws IllegalArgumentException for pid <= 0 (process groups, "any child")
     */
    public static ExitStatus waitFor(int pid) {
        if (pid <= 0) {
            throw new IllegalArgumentException("waitFor needs one child's pid, not " + pid);
        }
        LibC libc = Os.libc();
        int[] status = new int[1];
        while (true) {
            int r = libc.waitpid(pid, status, 0);
            if (r == pid) {
                return fromWaitStatus(status[0]);
            }
            int errno = Os.errno();
            if (r == -1 && errno != LibC.EINTR) {
                throw new IllegalStateException("waitpid(" + pid + "): " + Os.errnoName(errno));
            }
        }
    }
}
