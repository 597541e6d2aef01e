package io.agentd.bench;

import io.agentd.testsupport.RunningAgent;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * One agent started the way operators start it: {@code scripts/agentd --listen unix:SOCKET} (plus the
 * run's extra agent arguments), with the launcher's own JVM flags and whatever JAVA_OPTS this process
 * was given (the launcher appends them), through the fixture the tests share ({@link RunningAgent});
 * this adds what the bench measures of it (its JVM, flags, memory, CPU).
 */
final class AgentProcess implements AutoCloseable {
    private final RunningAgent agent;

    private AgentProcess(RunningAgent agent) {
        this.agent = agent;
    }

    static AgentProcess start(BenchConfig cfg, String name) throws IOException {
        Path workDir = cfg.workDir();
        Files.createDirectories(workDir);
        return new AgentProcess(RunningAgent.listening(cfg.repo().resolve("scripts/agentd"),
                workDir.resolve(name + ".sock"), cfg.agentArgs(), Map.of(), workDir.resolve(name + ".log")));
    }

    /** Connects as soon as the agent listens (see {@link RunningAgent#connect}). */
    <T> T connect(RunningAgent.Connector<T> connector) throws Exception {
        return agent.connect(connector);
    }

    Path socket() {
        return agent.socket();
    }

    Process launcher() {
        return agent.process();
    }

    /** System.nanoTime() just before the launcher was started. */
    long startNanos() {
        return agent.startNanos();
    }

    /** The agent's JVM: the launcher itself when it execs java, else its java descendant. */
    ProcessHandle jvm() {
        ProcessHandle self = agent.process().toHandle();
        if (isJava(self)) {
            return self;
        }
        Optional<ProcessHandle> child = self.descendants().filter(AgentProcess::isJava).findFirst();
        return child.orElse(self);
    }

    private static boolean isJava(ProcessHandle h) {
        return h.info().command().map(c -> c.endsWith("/java")).orElse(false);
    }

    /** The JVM's command line up to the main class/jar: the flags the launcher used. */
    String jvmFlags() throws IOException {
        StringBuilder flags = new StringBuilder();
        String[] args = cmdline();
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-cp") || a.equals("-classpath") || a.equals("--class-path")) {
                i++; // the classpath itself is long and says nothing about tuning
                continue;
            }
            if (!a.startsWith("-")) {
                break;
            }
            flags.append(flags.length() == 0 ? "" : " ").append(a);
        }
        return flags.toString();
    }

    /** The JVM's argv up to its main class: the java binary, every flag and the class path. */
    List<String> jvmCommand() throws IOException {
        String[] args = cmdline();
        List<String> command = new ArrayList<>(List.of(args[0]));
        for (int i = 1; i < args.length && args[i].startsWith("-"); i++) {
            command.add(args[i]);
            if ((args[i].equals("-cp") || args[i].equals("-classpath") || args[i].equals("--class-path"))
                    && i + 1 < args.length) {
                command.add(args[++i]);
            }
        }
        return command;
    }

    private String[] cmdline() throws IOException {
        byte[] raw = Files.readAllBytes(Path.of("/proc", Long.toString(jvm().pid()), "cmdline"));
        return new String(raw, StandardCharsets.UTF_8).split("\0");
    }

    ProcStatus memory() throws IOException {
        return ProcStatus.of(jvm().pid());
    }

    /** CPU time the agent's JVM has used so far. */
    ProcStatus.CpuTime cpu() throws IOException {
        return ProcStatus.CpuTime.of(jvm().pid());
    }

    /** The last lines of the agent's log, for error messages. */
    String logTail() {
        return agent.logTail();
    }

    @Override
    public void close() throws InterruptedException {
        ProcessHandle jvm = jvm();
        jvm.destroy();
        agent.process().destroy();
        if (!agent.process().waitFor(10, TimeUnit.SECONDS)) {
            jvm.destroyForcibly();
            agent.process().destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }
}
