package io.agentd.agent.sys;

/**
 * The JVM's refusal to start a thread: an OutOfMemoryError "unable to create native thread" from
 * Thread.start when the kernel refuses the clone (the agent's uid or cgroup at its process limit, a
 * session's fork bomb in the agent's pid space; or no memory for the stack). Nothing was started and
 * the heap is as it was, so it is a refusal to answer, not the agent's end, unlike an
 * OutOfMemoryError of the heap.
 */
public final class Threads {
    private Threads() {}

    /**
     * A daemon thread named {@code name} running {@code task}, started; null when the kernel refused
     * it ({@link #startRefused}), for the caller to do without. Any other OutOfMemoryError is thrown.
     */
    public static Thread startDaemon(String name, Runnable task) {
        Thread thread = new Thread(task, name);
        thread.setDaemon(true);
        try {
            thread.start();
        } catch (OutOfMemoryError e) {
            if (!startRefused(e)) {
                throw e;
            }
            return null;
        }
        return thread;
    }

    /** Whether {@code e} says a thread could not be started (and nothing else). */
    public static boolean startRefused(OutOfMemoryError e) {
        String message = e.getMessage();
        return message != null && message.contains("unable to create native thread");
    }
}
