package io.agentd.testkit;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts QEMU so that it never outlives this JVM, however the JVM ends.
 *
 * <ul>
 *   <li>Killed (SIGKILL, a crash): QEMU is started through {@code setpriv --pdeathsig KILL}
 *       (util-linux), which sets PR_SET_PDEATHSIG and execs QEMU, so the kernel kills QEMU when its
 *       parent goes. The kernel counts the <em>thread</em> that forked as the parent: every QEMU is
 *       therefore started from one daemon thread that lives as long as the JVM, never from the
 *       caller's (a test thread that ends would take its VM with it).</li>
 *   <li>An orderly exit (System.exit, the end of main, a test run that ends with VMs open): a
 *       shutdown hook kills every QEMU still running.</li>
 * </ul>
 */
final class QemuProcesses {
    /** Sets the parent-death signal, then execs the rest of its command line (util-linux). */
    static final String SETPRIV = "setpriv";
    /**
     * How long a killed QEMU is waited for. It ends within milliseconds (a large guest's memory takes
     * the kernel a few hundred to free) unless it is in uninterruptible sleep (D state: stuck in the
     * kernel, on a hung disk or NFS server), which SIGKILL ends only when the kernel lets go, perhaps never.
     */
    static final Duration KILL_WAIT = Duration.ofSeconds(10);

    private static final Logger log = LoggerFactory.getLogger(QemuProcesses.class);

    private static final Set<Process> live = ConcurrentHashMap.newKeySet();
    /** One thread for the JVM's life: the parent, as the kernel sees it, of every QEMU. */
    private static final ExecutorService launcher = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "agentd-testkit-qemu-launcher");
        t.setDaemon(true);
        return t;
    });

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> live.forEach(Process::destroyForcibly),
                "agentd-testkit-qemu-reaper"));
    }

    private QemuProcesses() {
    }

    /**
     * Starts {@code argv} (QEMU's) under setpriv, stdin from /dev/null, stdout and stderr to
     * {@code output}. The process is QEMU itself (setpriv execs it): its pid is QEMU's.
     *
     * @throws GuestVmException the program is not installed (the message says which package has it)
     */
    static Process start(List<String> argv, Path output) throws GuestVmException, InterruptedException {
        String qemu = argv.get(0);
        requireInstalled(qemu);
        List<String> cmd = new ArrayList<>(List.of(SETPRIV, "--pdeathsig", "KILL", "--"));
        cmd.addAll(argv);
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(output.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Future<Process> started = launcher.submit(() -> {
            Process process = pb.start();
            live.add(process);
            process.onExit().thenAccept(live::remove);
            return process;
        });
        Process process;
        try {
            process = started.get();
        } catch (ExecutionException e) {
            throw new GuestVmException("could not start " + qemu + ": " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            // The launcher starts it anyway, and nobody would hold it: wait for it to kill it.
            killWhenStarted(started);
            throw e;
        }
        // get() of a task already done returns without looking at the interrupt: a caller interrupted
        // while the launcher started QEMU is told so the same way, and QEMU does not run on unheld.
        if (Thread.interrupted()) {
            kill(process); // the flag is cleared: the wait for its end is not cut short
            throw new InterruptedException("interrupted while " + qemu + " was started; it was killed");
        }
        return process;
    }

    private static void killWhenStarted(Future<Process> started) {
        boolean interrupted = false;
        while (true) {
            try {
                kill(started.get());
                break;
            } catch (InterruptedException again) {
                interrupted = true;
            } catch (ExecutionException notStarted) {
                break;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Checks that {@code qemu} and setpriv can be run.
     *
     * @throws GuestVmException naming the missing program and the package that has it
     */
    static void requireInstalled(String qemu) throws GuestVmException {
        if (find(qemu) == null) {
            // A path is not looked up on PATH: saying so would send the user to the wrong place.
            throw new GuestVmException(qemu.contains("/")
                    ? qemu + " is not an executable file" + (Files.exists(Path.of(qemu)) ? "" : " (it does not exist)")
                    : qemu + " was not found on PATH (" + System.getenv("PATH") + "):"
                            + " install QEMU with: apt-get install qemu-system-x86");
        }
        if (find(SETPRIV) == null) {
            throw new GuestVmException(SETPRIV + " was not found on PATH: it comes with util-linux"
                    + " (apt-get install util-linux)");
        }
    }

    /** {@code program} as an absolute path, or found in a directory of PATH; null when it is not there. */
    static Path find(String program) {
        if (program.contains("/")) {
            Path p = Path.of(program);
            return Files.isExecutable(p) ? p : null;
        }
        String path = System.getenv("PATH");
        if (path == null) {
            return null;
        }
        for (String dir : path.split(File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(dir, program);
            if (Files.isExecutable(candidate) && !Files.isDirectory(candidate)) {
                return candidate;
            }
        }
        return null;
    }

    /** Ends a process the caller gave up on: SIGKILL, then a wait for its exit of at most {@link #KILL_WAIT}. */
    static boolean kill(Process process) throws InterruptedException {
        return kill(process, KILL_WAIT);
    }

    /**
     * SIGKILL, then a wait for the exit of at most {@code wait}; whether it ended. The wait had no bound:
     * a QEMU in D state hung the VM's close, or a failed boot's clean-up, with it. Every caller is
     * cleaning up, most often after a failure an exception here would hide; so a process still there is
     * logged (WARN, naming its pid and state) and the caller goes on: a VM's close then keeps its run
     * directory, as for any guest that did not power off, and the shutdown hook kills it again at exit.
     */
    static boolean kill(Process process, Duration wait) throws InterruptedException {
        process.destroyForcibly();
        if (process.waitFor(wait.toNanos(), TimeUnit.NANOSECONDS)) {
            return true;
        }
        log.warn(stillRunning(process.pid(), wait));
        return false;
    }

    /** What is said of a process that SIGKILL did not end within {@code waited}. */
    static String stillRunning(long pid, Duration waited) {
        String state = state(pid);
        return "QEMU (pid " + pid + ") did not end within " + io.agentd.client.Timeouts.text(waited)
                + " of SIGKILL, in state " + state
                + (state.startsWith("D") ? ": stuck in the kernel, which ends it when the I/O it waits for completes" : "")
                + "; going on without it (the shutdown hook kills it again at exit)";
    }

    /** The process's state as /proc/PID/status gives it, e.g. "D (disk sleep)"; "unknown" when it cannot be read. */
    static String state(long pid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("State:")) {
                    return line.substring("State:".length()).trim();
                }
            }
        } catch (IOException e) {
            // gone since, or no /proc
        }
        return "unknown";
    }

    /** The output file's last lines, for an error message; empty when it cannot be read. */
    static String tail(Path file, int lines) {
        try {
            return ConsoleLog.lastLines(file, lines);
        } catch (IOException e) {
            return "";
        }
    }
}
