package io.agentd.bench;

/**
 * The JVM floor's bare class: says it is running, then sleeps until killed. Started by
 * {@link JvmFloor} on the agent's own java command line (flags, class path, archive), it costs what
 * the JVM costs before any agent code runs.
 */
public final class IdleJvm {
    /** The line printed once main() runs. */
    static final String RUNNING = "idle";

    private IdleJvm() {}

    public static void main(String[] args) throws InterruptedException {
        System.out.println(RUNNING);
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
