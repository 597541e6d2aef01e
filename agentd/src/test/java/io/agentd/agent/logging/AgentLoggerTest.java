package io.agentd.agent.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/** Through slf4j, as the agent's classes log (the build names this backend to slf4j, as Main does). */
class AgentLoggerTest {
    @AfterEach
    void backToStderrAtInfo() {
        LogOutput.close();
        LogOutput.setLevel(Level.INFO);
    }

    @Test
    void linesFromTheLevelUpAreAppendedToTheFileWithTheirArguments() throws Exception {
        // Under target/: these tests run without a usable java.io.tmpdir (agentd/pom.xml).
        Path file = Files.createDirectories(Path.of("target", "logging")).resolve("agent-" + System.nanoTime() + ".log");
        Files.writeString(file, "kept\n");
        Logger log = LoggerFactory.getLogger("io.agentd.agent.Example");
        assertTrue(log instanceof AgentLogger, "slf4j uses " + log.getClass());
        LogOutput.toFile(file);
        LogOutput.setLevel(Level.WARN);
        log.info("dropped {}", 1);
        log.warn("pid={} code={}", 42, 7);
        log.error("failed {}", "x", new RuntimeException("cause"));
        assertFalse(log.isInfoEnabled());
        LogOutput.close();

        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        Files.delete(file);
        assertEquals("kept", lines.get(0));
        assertTrue(lines.get(1).endsWith(" WARN  Example: pid=42 code=7"), lines.toString());
        assertTrue(lines.get(2).endsWith(" ERROR Example: failed x"), lines.toString());
        assertEquals("java.lang.RuntimeException: cause", lines.get(3));
        assertFalse(String.join("\n", lines).contains("dropped"));
    }
}
