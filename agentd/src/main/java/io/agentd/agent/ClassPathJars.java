package io.agentd.agent;

import io.agentd.agent.sys.Threads;

/**
 * Opens every jar of the agent's class path at start, while it has descriptors to spare. On the
 * AppCDS archive the launcher starts it on, the classes start-up loads come from the archive and
 * their jars stay closed; the first class outside it (a failure path's, FailureKind for a spawn
 * refused EMFILE) then opened its jar, which an agent at its open-file limit cannot do: a
 * NoClassDefFoundError, and the agent ended (exit 3) where it should have answered
 * resource_limit. (The JVM also remembers a failed resolution at its call site for good.) Asking
 * for a resource no jar has makes the class loader open each jar once; it keeps them open.
 */
final class ClassPathJars {
    /** A name no jar holds, so that every one is opened to look. */
    private static final String ABSENT = "io/agentd/agent/no-such-resource-opens-every-jar";

    private ClassPathJars() {}

    /**
     * On a thread of its own, beside the start (reading 13 jars' directories held the start to
     * ready 5-20 ms on the main thread), done within milliseconds of it, long before sessions can
     * have taken every descriptor; where no thread can be started, here.
     */
    static void openAllSoon() {
        if (Threads.startDaemon("class-path-jars", ClassPathJars::openAll) == null) {
            openAll();
        }
    }

    static void openAll() {
        ClassLoader.getSystemClassLoader().getResource(ABSENT);
    }
}
