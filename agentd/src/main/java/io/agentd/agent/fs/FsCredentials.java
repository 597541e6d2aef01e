package io.agentd.agent.fs;

import io.agentd.agent.spawn.TargetUser;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.util.Arrays;

/**
 * Runs an fs operation with another user's file system rights, on the calling worker thread only.
 * Linux keeps the file system uid and gid and the supplementary groups per thread, and checks
 * permissions against them; glibc's setgroups wrapper changes every thread of the process, so all
 * three are set with raw system calls. Changing the fs uid from 0 to another drops the thread's file
 * capabilities (CAP_DAC_OVERRIDE, CAP_FOWNER, ...), so the operation meets the same checks as that
 * user's processes; setting it back to 0 restores them. A thread whose credentials cannot be put
 * back must run nothing else, and any thread it made would copy them: {@link CredentialsStuck} is an
 * Error, which ends the agent (Main's fatal path, exit status 3; init starts a new one).
 */
final class FsCredentials {
    /** A worker's own credentials could not be restored: fatal for the agent. */
    static final class CredentialsStuck extends Error {
        private static final long serialVersionUID = 1L;

        CredentialsStuck(String message) {
            super(message);
        }
    }

    @FunctionalInterface
    interface Operation<T> {
        T run() throws FsFailure;
    }

    private static final boolean X86_64 = "amd64".equals(System.getProperty("os.arch"))
            || "x86_64".equals(System.getProperty("os.arch"));
    private static final long SYS_SETGROUPS = X86_64 ? 116 : 159;
    private static final long SYS_SETFSUID = X86_64 ? 122 : 151;
    private static final long SYS_SETFSGID = X86_64 ? 123 : 152;
    /** (uid_t) -1: setfsuid(-1) changes nothing and returns the current value. */
    private static final long QUERY = 0xffff_ffffL;

    private static final ThreadLocal<Boolean> ACTING_AS_USER = new ThreadLocal<>();
    private final int agentUid;
    private final int agentGid;
    private final int[] agentGroups;

    private FsCredentials(int agentUid, int agentGid, int[] agentGroups) {
        this.agentUid = agentUid;
        this.agentGid = agentGid;
        this.agentGroups = agentGroups;
    }

    /** The agent's own credentials, read once: what every worker goes back to. */
    static FsCredentials ofAgent() {
        LibC libc = Os.libc();
        int n = libc.getgroups(0, new int[0]);
        int[] groups = new int[Math.max(n, 0)];
        if (n > 0) {
            int got = libc.getgroups(n, groups);
            groups = Arrays.copyOf(groups, Math.max(got, 0));
        }
        return new FsCredentials(libc.getuid(), libc.getgid(), groups);
    }

    /** Runs {@code op} with {@code user}'s rights, or the agent's own when {@code user} is null. */
    <T> T runAs(TargetUser user, String spec, Operation<T> op) throws FsFailure {
        if (user == null) {
            return op.run();
        }
        boolean changed = false;
        try {
            changed = take(user, spec);
            ACTING_AS_USER.set(Boolean.TRUE);
            return op.run();
        } finally {
            ACTING_AS_USER.remove();
            if (changed) {
                restore();
            }
        }
    }

    /** Whether this thread runs a request with a user ({@link NoMagicLinks}). */
    static boolean actingAsUser() {
        return ACTING_AS_USER.get() != null;
    }

    /**
     * Takes the user's groups, fs gid and fs uid; false when nothing was changed (setgroups refused:
     * an agent that is not root). Once setgroups succeeded the caller must {@link #restore}, even when
     * this throws.
     */
    private boolean take(TargetUser user, String spec) throws FsFailure {
        LibC libc = Os.libc();
        int[] groups = user.groups();
        if (libc.syscall(SYS_SETGROUPS, groups.length, groups) != 0) {
            int errno = Os.errno();
            throw new FsFailure(errno, "cannot take the rights of user " + spec + ": setgroups: "
                    + Os.errnoDescription(errno) + " (os error " + errno + ")");
        }
        try {
            libc.syscall(SYS_SETFSGID, Integer.toUnsignedLong(user.gid()));
            libc.syscall(SYS_SETFSUID, Integer.toUnsignedLong(user.uid()));
            // setfsuid/setfsgid report no errors: the current values say whether they took.
            if (current(SYS_SETFSUID) != user.uid() || current(SYS_SETFSGID) != user.gid()) {
                throw new FsFailure(FsFailure.EPERM, "cannot take the rights of user " + spec
                        + ": setfsuid/setfsgid refused (os error 1)");
            }
        } catch (FsFailure | RuntimeException e) {
            restore();
            throw e;
        }
        return true;
    }

    private void restore() {
        LibC libc = Os.libc();
        libc.syscall(SYS_SETFSUID, Integer.toUnsignedLong(agentUid));
        libc.syscall(SYS_SETFSGID, Integer.toUnsignedLong(agentGid));
        long groups = libc.syscall(SYS_SETGROUPS, agentGroups.length, agentGroups);
        if (groups != 0 || current(SYS_SETFSUID) != agentUid || current(SYS_SETFSGID) != agentGid) {
            throw new CredentialsStuck("an fs worker could not take back the agent's credentials");
        }
    }

    private static int current(long syscall) {
        return (int) Os.libc().syscall(syscall, QUERY);
    }
}
