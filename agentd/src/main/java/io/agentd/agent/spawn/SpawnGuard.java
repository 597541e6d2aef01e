package io.agentd.agent.spawn;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.agent.sys.ProcStat;
import java.io.IOException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import java.util.function.IntUnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kills a spawn's child that holds the agent on its way to the exec (rule 9 in
 * native-shim/agentd-shim.c): the thread that spawns, the agent's spawner thread, waits in clone
 * until the child's exec, so every later command of every host waits with it, and the frames its
 * own host sent after the request. Two ways a child never gets there by itself: stopped
 * (from its switch to the target user it is a process of that user, and a session of the same uid
 * can stop it: kill -STOP -1), killed at once; or stuck in the kernel, its chdir or its PATH search
 * on a mount that does not answer (a FUSE server that hangs, virtiofs or NFS whose server went away),
 * killed once it has been on its way {@value #EXEC_DEADLINE_MILLIS} ms (those waits take SIGKILL).
 * Killed, the child ends the spawn as "died before exec" (or as started and dead of SIGKILL when it
 * was in its PATH search, rule 5), and the agent goes on. One daemon thread for the process, looking
 * every {@value #CHECK_MILLIS} ms at each spawn that has not returned.
 */
final class SpawnGuard {
    private static final Logger log = LoggerFactory.getLogger(Spawner.class);
    /** How long a spawn runs before its child is looked at, and between looks. */
    static final long CHECK_MILLIS = 500;
    /**
     * How long a child may be on its way to the exec: its steps are a few system calls (under TCG,
     * milliseconds), so this long means a wait nothing will end, while every later spawn waits too.
     */
    static final long EXEC_DEADLINE_MILLIS = 5000;

    private static final class Shared {
        static final SpawnGuard GUARD = new SpawnGuard();
    }

    /**
     * Cancelled watches leave the queue at once (removeOnCancelPolicy): each holds its ShimSpec, a
     * native copy of argv and envp of up to ~4 MiB, and a spawn's watch is cancelled long before its
     * first look, so without it a flood of large requests kept rate x {@value #CHECK_MILLIS} ms of
     * them alive.
     */
    private final ScheduledThreadPoolExecutor timer = newTimer();

    private static ScheduledThreadPoolExecutor newTimer() {
        ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "spawn-guard");
            t.setDaemon(true);
            return t;
        });
        timer.setRemoveOnCancelPolicy(true);
        return timer;
    }

    /** The process's one guard; a test makes its own. */
    SpawnGuard() {}

    static SpawnGuard shared() {
        return Shared.GUARD;
    }

    /** Starts looking at {@code call}'s child; cancel the result once the spawn has returned. */
    ScheduledFuture<?> watch(ShimSpec call) {
        return watch(call::child, EXEC_DEADLINE_MILLIS, call::overdue);
    }

    /** Starts looking at the child {@code child} publishes (0 until there is one), with no deadline. */
    ScheduledFuture<?> watch(IntSupplier child) {
        return watch(child, Long.MAX_VALUE, stage -> { });
    }

    /**
     * Starts looking at the child {@code child} publishes; one still on its way {@code deadlineMillis}
     * after this call is killed too, and {@code overdue} is told first.
     */
    ScheduledFuture<?> watch(IntSupplier child, long deadlineMillis, Overdue overdue) {
        long deadline = deadlineMillis == Long.MAX_VALUE ? Long.MAX_VALUE
                : System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(deadlineMillis);
        // The thread first: the executor queues a task before it starts its thread, so a thread the
        // kernel refused would leave this watch queued, uncancelled, for the agent's life.
        timer.prestartCoreThread();
        return timer.scheduleWithFixedDelay(
                () -> check(child, deadline != Long.MAX_VALUE && System.nanoTime() - deadline >= 0, overdue),
                CHECK_MILLIS, CHECK_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** Told when a child is killed for its deadline, before the kill (so the spawn's report can say why). */
    @FunctionalInterface
    interface Overdue {
        void killing(int pid);
    }

    /** How many watches wait in the queue (cancelled ones too, were they kept): a test's view. */
    int queued() {
        return timer.getQueue().size();
    }

    private static void check(IntSupplier call, boolean pastDeadline, Overdue overdue) {
        check(call, pid -> (int) Os.libc().syscall(LibC.SYS_PIDFD_OPEN, pid, 0), pastDeadline, overdue);
    }

    /** A look with no deadline: only a stopped child is killed. */
    static void check(IntSupplier call, IntUnaryOperator pidfdOpen) {
        check(call, pidfdOpen, false, pid -> { });
    }

    /**
     * @param pidfdOpen    pidfd_open(2), below 0 when it fails: a kernel before 5.3, or the agent at
     *                     its open-file limit (which thousands of sessions reach), where a session
     *                     that stopped a child would hold every spawn for good
     * @param pastDeadline the child has been on its way longer than its deadline: killed whatever its state
     */
    static void check(IntSupplier call, IntUnaryOperator pidfdOpen, boolean pastDeadline, Overdue overdue) {
        int pid = call.getAsInt();
        if (pid <= 0 || !(pastDeadline || stopped(pid))) {
            return;
        }
        String why = pastDeadline
                ? "had not reached its exec " + EXEC_DEADLINE_MILLIS + " ms after it was made (its chdir or its PATH"
                        + " search waits on a mount that does not answer?)"
                : "was stopped before its exec (a signal from a process of the command's user)";
        LibC libc = Os.libc();
        int pidfd = pidfdOpen.applyAsInt(pid);
        if (pidfd < 0) {
            // By its number only when stopped: a stopped child cannot exit, so it is not reaped while
            // it stays stopped and published; only a continue, an exec, an exit, a reap and the pid's
            // reuse, all between these two looks and the kill, would make it another process. One
            // that runs may exit and be reaped between them, and its number may be another's by then.
            if (!pastDeadline && call.getAsInt() == pid && stopped(pid)) {
                libc.kill(pid, LibC.SIGKILL);
                log.warn("spawn: the child (pid {}) of a command being started {}; killed it by its pid (no pidfd),"
                        + " so that the agent goes on", pid, why);
            }
            return;
        }
        try {
            // Still published after the open: not reaped when the pidfd was taken, so it is the child.
            if (call.getAsInt() != pid) {
                return;
            }
            if (pastDeadline) {
                overdue.killing(pid);
            }
            libc.syscall(LibC.SYS_PIDFD_SEND_SIGNAL, pidfd, LibC.SIGKILL, 0, 0);
            log.warn("spawn: the child (pid {}) of a command being started {}; killed it, so that the agent goes on",
                    pid, why);
        } finally {
            libc.close(pidfd);
        }
    }

    /** State T or t in /proc/PID/stat: stopped by a signal or by a tracer. */
    static boolean stopped(int pid) {
        try {
            String state = ProcStat.fieldsFromState(ProcStat.read(pid, "stat"))[0];
            return state.equals("T") || state.equals("t");
        } catch (IOException | RuntimeException gone) {
            return false;
        }
    }
}
