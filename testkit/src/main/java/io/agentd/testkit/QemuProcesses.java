package io.agentd.testkit;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

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
                started.get().destroyForcibly().waitFor();
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

    /** Waits for a process the caller gave up on: SIGKILL, then its exit. */
    static void kill(Process process) throws InterruptedException {
        process.destroyForcibly();
        process.waitFor();
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
