package io.agentd.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;

/** An agent on this machine, read from its /proc directory; its limit raised with prlimit(1). */
final class LocalAgentProbe implements AgentProbe {
    private final long pid;

    LocalAgentProbe(long pid) {
        this.pid = pid;
    }

    @Override
    public String raiseOpenFileLimit(long wanted) throws IOException, InterruptedException {
        if (openFileLimit() >= wanted) {
            return "already " + wanted + " or more";
        }
        Process p = new ProcessBuilder("prlimit", "--pid", Long.toString(pid), "--nofile=" + wanted + ":" + wanted)
                .redirectErrorStream(true).start();
        BoundedRead.Output out = BoundedRead.readAll(p, Duration.ofSeconds(10), "prlimit");
        String said = new String(out.stdout(), StandardCharsets.UTF_8).strip();
        if (out.exitCode() != 0) {
            // Raising a hard limit needs CAP_SYS_RESOURCE; the run goes on at the limit the agent has.
            System.err.println("[bench] many sessions: could not raise the agent's open-file limit to " + wanted
                    + ": " + said);
            return "raising it to " + wanted + " was refused";
        }
        return "raised by the bench";
    }

    @Override
    public long openFileLimit() throws IOException {
        Path limits = proc().resolve("limits");
        return AgentProbe.openFileLimit(Files.readAllLines(limits), limits.toString());
    }

    /** The children files of the agent's threads under /proc/PID/task. */
    @Override
    public int liveChildren() throws IOException {
        int count = 0;
        try (var tasks = Files.list(proc().resolve("task"))) {
            for (Path task : tasks.toList()) {
                try {
                    count += AgentProbe.childCount(Files.readString(task.resolve("children")));
                } catch (NoSuchFileException threadEnded) {
                    // one of the agent's threads ended after the listing
                }
            }
        }
        return count;
    }

    @Override
    public long peakRssBytes() throws IOException {
        return ProcStatus.of(pid).peakRssBytes();
    }

    private Path proc() {
        return Path.of("/proc", Long.toString(pid));
    }
}
