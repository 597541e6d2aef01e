package io.agentd.agent.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Instance counts of another JVM's live objects, by class name, from {@code jcmd PID GC.class_histogram}
 * (which runs a full GC first, so only what is still reachable counts). The JDK that runs the tests
 * has jcmd; the agent is root's like the test (CI) and started {@link AgentProcess#ATTACHABLE}, so the attach is allowed.
 */
final class LiveObjects {
    private LiveObjects() {}

    static Map<String, Long> of(long pid) throws IOException, InterruptedException {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        Process p = new ProcessBuilder(jcmd.toString(), Long.toString(pid), "GC.class_histogram")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new AssertionError("jcmd " + pid + " GC.class_histogram failed:\n" + out);
        }
        Map<String, Long> counts = new HashMap<>();
        for (String line : out.split("\n")) {
            // "   1:          5120        1234567  io.agentd.agent.transport.PortLink (agentd)" or without a module
            String[] f = line.trim().split("\\s+");
            if (f.length >= 4 && f[0].endsWith(":")) {
                counts.merge(f[3], Long.parseLong(f[1]), Long::sum);
            }
        }
        if (counts.isEmpty()) {
            throw new AssertionError("no histogram from jcmd " + pid + ":\n" + out);
        }
        return counts;
    }
}
