package io.agentd.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What a bench JVM stopped before its run's end (SIGTERM, ^C) still does: end the agents, qemu-ga,
 * relays and agentctl processes it started (try-with-resources closes them only on a run's own way
 * out, and a killed JVM's children are re-parented to pid 1 and run on) and leave its work directory
 * as after a miss, logs only, its path printed.
 */
final class StopHook {
    /** How long an agent gets for its own SIGTERM handling before it is killed. */
    private static final Duration GRACE = Duration.ofSeconds(3);

    private final Path work;
    private final PrintStream out;
    private final AtomicBoolean workDirTaken = new AtomicBoolean();

    private StopHook(Path work, PrintStream out) {
        this.work = work;
        this.out = out;
    }

    static StopHook install(Path work, PrintStream out) {
        StopHook hook = new StopHook(work, out);
        Runtime.getRuntime().addShutdownHook(new Thread(hook::run, "bench-stop"));
        return hook;
    }

    /**
     * True for the first caller only: the run's own end or this hook. The main thread runs on while
     * hooks run, so both could otherwise reach the work directory, one deleting what the other keeps.
     */
    boolean takeWorkDir() {
        return workDirTaken.compareAndSet(false, true);
    }

    void run() {
        try {
            ProcessTree.destroyDescendants(ProcessHandle.current(), GRACE);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!takeWorkDir()) {
            return; // the run ended on its own and dealt with it
        }
        try {
            WorkDir.keepLogsOnly(work);
            out.println("bench stopped before its end; agent logs kept in " + work);
        } catch (IOException | UncheckedIOException e) {
            out.println("bench stopped before its end; could not clear " + work + ": " + e);
        }
    }
}
