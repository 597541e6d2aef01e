package io.agentd.agent.spawn;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import java.util.function.IntUnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kills a spawn's child found stopped on its way to the exec (rule 9 in native-shim/agentd-shim.c).
 * From its switch to the target user to its exec the child is a process of that user, and a session
 * of the same uid can stop it (kill -STOP -1); the thread that spawns, the agent's loop, waits in
 * clone until the exec and would wait for ever. Killed, the child ends the spawn as "died before
 * exec", and the agent goes on. One daemon thread for the process, looking every
 * {@value #CHECK_MILLIS} ms at each spawn that has not returned.
 */
final class StoppedSpawnGuard {
    private static final Logger log = LoggerFactory.getLogger(Spawner.class);
    /** How long a spawn runs before its child is looked at, and between looks. */
    static final long CHECK_MILLIS = 500;

    private static final class Shared {
        static final StoppedSpawnGuard GUARD = new StoppedSpawnGuard();
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
    StoppedSpawnGuard() {}

    static StoppedSpawnGuard shared() {
        return Shared.GUARD;
    }

    /** Starts looking at {@code call}'s child; cancel the result once the spawn has returned. */
    ScheduledFuture<?> watch(ShimSpec call) {
        return watch(call::child);
    }

    /** Starts looking at the child {@code child} publishes (0 until there is one). */
    ScheduledFuture<?> watch(IntSupplier child) {
        return timer.scheduleWithFixedDelay(() -> check(child), CHECK_MILLIS, CHECK_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** How many watches wait in the queue (cancelled ones too, were they kept): a test's view. */
    int queued() {
        return timer.getQueue().size();
    }

    private static void check(IntSupplier call) {
        check(call, pid -> (int) Os.libc().syscall(LibC.SYS_PIDFD_OPEN, pid, 0));
    }

    /**
     * @param pidfdOpen pidfd_open(2), below 0 when it fails: a kernel before 5.3, or the agent at its
     *                  open-file limit (which thousands of sessions reach), where a session that
     *                  stopped a child would hold the loop for good
     */
    static void check(IntSupplier call, IntUnaryOperator pidfdOpen) {
        int pid = call.getAsInt();
        if (pid <= 0 || !stopped(pid)) {
            return;
        }
        LibC libc = Os.libc();
        int pidfd = pidfdOpen.applyAsInt(pid);
        if (pidfd < 0) {
            // By its number: a stopped child cannot exit, so it is not reaped while it stays stopped
            // and published; only a continue, an exec, an exit, a reap and the pid's reuse, all
            // between these two looks and the kill, would make it another process.
            if (call.getAsInt() == pid && stopped(pid)) {
                libc.kill(pid, LibC.SIGKILL);
                log.warn("spawn: the child (pid {}) of a command being started was stopped before its exec (a signal"
                        + " from a process of the command's user); killed it by its pid (no pidfd), so that the agent"
                        + " goes on", pid);
            }
            return;
        }
        try {
            // Still published after the open: not reaped when the pidfd was taken, so it is the child.
            if (call.getAsInt() != pid) {
                return;
            }
            libc.syscall(LibC.SYS_PIDFD_SEND_SIGNAL, pidfd, LibC.SIGKILL, 0, 0);
            log.warn("spawn: the child (pid {}) of a command being started was stopped before its exec (a signal"
                    + " from a process of the command's user); killed it, so that the agent goes on", pid);
        } finally {
            libc.close(pidfd);
        }
    }

    /** State T or t in /proc/PID/stat: stopped by a signal or by a tracer. */
    static boolean stopped(int pid) {
        try {
            // readAllLines: JDK 17's Files.readString stops early on /proc files (they report size 0).
            String stat = String.join("\n", Files.readAllLines(Path.of("/proc/" + pid + "/stat")));
            int end = stat.lastIndexOf(')'); // the command name may hold spaces and parentheses
            char state = end >= 0 && end + 2 < stat.length() ? stat.charAt(end + 2) : '?';
            return state == 'T' || state == 't';
        } catch (IOException | RuntimeException gone) {
            return false;
        }
    }
}
