package io.agentd.agent.session;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A real zombie: a child of {@code sleep 60} (sh started it in the background, then became sleep,
 * which never waits), exited and not reaped. Closing ends its parent, after which its new parent
 * reaps it.
 */
final class Zombie implements AutoCloseable {
    private final Process parent;
    final long pid;

    Zombie() throws Exception {
        parent = new ProcessBuilder("sh", "-c", "sleep 0.05 & echo $!; exec sleep 60").start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(parent.getInputStream(), StandardCharsets.US_ASCII))) {
            pid = Long.parseLong(out.readLine().strip());
        }
        for (int i = 0; i < 500; i++) {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            if (stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z")) {
                return;
            }
            Thread.sleep(10);
        }
        parent.destroyForcibly();
        throw new AssertionError("process " + pid + " did not become a zombie");
    }

    @Override
    public void close() {
        parent.destroyForcibly();
    }
}
