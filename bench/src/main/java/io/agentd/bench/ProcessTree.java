package io.agentd.bench;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Ends a process tree: asked first (SIGTERM) and killed once a grace period has passed, or killed at once. */
final class ProcessTree {
    /** Passes over the tree: a process started while an earlier pass waited is caught by a later one. */
    private static final int PASSES = 3;

    private ProcessTree() {}

    /** Kills {@code p} and every descendant it has now, at once (the tree listed before any is killed). */
    static void destroyForcibly(ProcessHandle p) {
        List<ProcessHandle> tree = p.descendants().toList();
        p.destroyForcibly();
        tree.forEach(ProcessHandle::destroyForcibly);
    }

    /**
     * Destroys every descendant of {@code root} (the whole tree is listed before any is signalled, so a
     * grandchild whose parent dies first, re-parented to pid 1, is still ended) and waits up to
     * {@code grace} for them before destroying the rest forcibly.
     */
    static void destroyDescendants(ProcessHandle root, Duration grace) throws InterruptedException {
        for (int pass = 0; pass < PASSES; pass++) {
            List<ProcessHandle> tree = root.descendants().toList();
            if (tree.isEmpty()) {
                return;
            }
            tree.forEach(ProcessHandle::destroy);
            long deadline = System.nanoTime() + grace.toNanos();
            for (ProcessHandle p : tree) {
                try {
                    p.onExit().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (TimeoutException | ExecutionException e) {
                    p.destroyForcibly();
                }
            }
        }
    }
}
