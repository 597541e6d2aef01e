package io.agentd.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** scripts/agentctl itself, before any JVM. */
class AgentctlLauncherTest {
    private static final Path ROOT =
            Path.of(System.getProperty("agentd.project.root", "..")).toAbsolutePath().normalize();

    /**
     * No Java runtime is agentctl's own failure (125, a line saying so), not 127, which its exit
     * codes keep for a command the guest does not have; the shell's exec gave 127.
     */
    @Test
    void noJavaRuntimeIs125WithALine() throws Exception {
        ProcessBuilder pb = new ProcessBuilder(ROOT.resolve("scripts/agentctl").toString(), "ping");
        pb.environment().put("JAVA", "/nonexistent/java");
        Process p = pb.start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(125, p.exitValue(), err);
        assertTrue(err.startsWith("agentctl: no Java runtime: /nonexistent/java not found"), err);
    }
}
