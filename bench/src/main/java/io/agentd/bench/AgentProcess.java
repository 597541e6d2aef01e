package io.agentd.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * One agent started the way operators start it: {@code scripts/agentd --listen unix:SOCKET} (plus the
 * run's extra agent arguments), with the launcher's own JVM flags and whatever JAVA_OPTS this process
 * was given (the launcher appends them).
 * Its log goes to a file in the work dir, so a chatty agent never blocks on a full pipe.
 */
final class AgentProcess implements AutoCloseable {
    private final Process launcher;
    private final long startNanos;
    private final Path socket;
    private final Path log;

    private AgentProcess(Process launcher, long startNanos, Path socket, Path log) {
        this.launcher = launcher;
        this.startNanos = startNanos;
        this.socket = socket;
        this.log = log;
    }

    static AgentProcess start(BenchConfig cfg, String name) throws IOException {
        Path repo = cfg.repo();
        Path workDir = cfg.workDir();
        Files.createDirectories(workDir);
        Path socket = workDir.resolve(name + ".sock");
        Path log = workDir.resolve(name + ".log");
        Files.deleteIfExists(socket);
        Path launcher = repo.resolve("scripts/agentd");
        if (!Files.isExecutable(launcher)) {
            throw new IOException(launcher + " is missing or not executable");
        }
        long start = System.nanoTime();
        List<String> cmd = new ArrayList<>(List.of(launcher.toString(), "--listen", "unix:" + socket));
        cmd.addAll(cfg.agentArgs());
        Process p = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        return new AgentProcess(p, start, socket, log);
    }

    Path socket() {
        return socket;
    }

    Process launcher() {
        return launcher;
    }

    /** System.nanoTime() just before the launcher was started. */
    long startNanos() {
        return startNanos;
    }

    /** The agent's JVM: the launcher itself when it execs java, else its java descendant. */
    ProcessHandle jvm() {
        ProcessHandle self = launcher.toHandle();
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
        byte[] raw = Files.readAllBytes(Path.of("/proc", Long.toString(jvm().pid()), "cmdline"));
        StringBuilder flags = new StringBuilder();
        String[] args = new String(raw, StandardCharsets.UTF_8).split("\0");
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

    ProcStatus memory() throws IOException {
        return ProcStatus.of(jvm().pid());
    }

    /** CPU time the agent's JVM has used so far. */
    ProcStatus.CpuTime cpu() throws IOException {
        return ProcStatus.CpuTime.of(jvm().pid());
    }

    /** The last lines of the agent's log, for error messages. */
    String logTail() {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    @Override
    public void close() throws InterruptedException {
        ProcessHandle jvm = jvm();
        jvm.destroy();
        launcher.destroy();
        if (!launcher.waitFor(10, TimeUnit.SECONDS)) {
            jvm.destroyForcibly();
            launcher.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
    }
}
