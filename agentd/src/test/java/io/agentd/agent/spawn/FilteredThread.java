package io.agentd.agent.spawn;

import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs a test's body on a thread of its own that first installs a seccomp filter: the filter is
 * that thread's (and its children's), the rest of the test JVM is untouched. A failure on the
 * thread, the filter's installation included, is rethrown to the test.
 */
final class FilteredThread {
    /** What runs on the thread: the filter's installation, then the test's body. */
    interface Step {
        void run() throws Exception;
    }

    private FilteredThread() {}

    static void run(String name, Step installFilter, Step body) throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread thread = new Thread(() -> {
            try {
                installFilter.run();
                body.run();
            } catch (Throwable t) {
                failure.set(t);
            }
        }, name);
        thread.start();
        thread.join();
        Throwable t = failure.get();
        if (t instanceof Exception e) {
            throw e;
        } else if (t instanceof Error e) {
            throw e;
        }
    }
}
