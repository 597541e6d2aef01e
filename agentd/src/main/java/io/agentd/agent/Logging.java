package io.agentd.agent;

import io.agentd.agent.logging.AgentLogProvider;
import io.agentd.agent.logging.LogOutput;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import org.slf4j.event.Level;

/**
 * The agent's logging: slf4j over its own small backend ({@link AgentLogProvider}), which writes
 * one line per call to stderr, or appended to the log file, from the level the command line sets.
 * Not logback: its start (about 150 classes, its status and configurator machinery) was, with the
 * libc binding, the longest step before ready (BENCHMARKS.md, issue 17).
 */
public final class Logging {
    private static final String SLF4J_PROVIDER = "slf4j.provider";
    /** slf4j's own messages below this level are not printed (it announces an explicit provider at INFO). */
    private static final String SLF4J_VERBOSITY = "slf4j.internal.verbosity";

    private Logging() {}

    /**
     * Names the agent's backend to slf4j; call before the first logger is asked for (slf4j then
     * loads it directly instead of searching the class path for providers).
     */
    static void useAgentBackend() {
        System.setProperty(SLF4J_PROVIDER, AgentLogProvider.class.getName());
        System.setProperty(SLF4J_VERBOSITY, "WARN");
    }

    /**
     * @param level one of AgentOptions' levels (error, warn, info, debug, trace)
     * @throws IllegalArgumentException when the log file cannot be opened for appending
     */
    static void configure(String level, Path file) {
        LogOutput.setLevel(Level.valueOf(level.toUpperCase(Locale.ROOT)));
        if (file == null) {
            return;
        }
        try {
            LogOutput.toFile(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot open log file " + file + " for appending");
        }
    }

    /** Closes the log file (before System.exit). */
    static void stop() {
        LogOutput.close();
    }
}
