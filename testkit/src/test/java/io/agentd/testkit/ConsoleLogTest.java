package io.agentd.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ConsoleLog's scans hold one line, not the console: a guest may write without bound to its console
 * (QEMU's file has no cap), and the kit read it whole, three times its size in the test's heap,
 * every 200 ms of a boot. Checked in a JVM of its own with a heap far smaller than the console.
 */
class ConsoleLogTest {
    private static final String AGENT_LINE = "2026-12-05T21:04:17.224Z INFO  Main: agentd serving";

    @TempDir
    Path dir;

    /** Run in the small JVM: every scan of the console named by args[0]; prints what they found. */
    public static void main(String[] args) throws Exception {
        ConsoleLog console = new ConsoleLog(Path.of(args[0]));
        System.out.println(console.softLockup(40).orElse("none"));
        System.out.println(console.contains("init: started"));
        System.out.println(console.agentLines().size());
        System.out.println(console.tail(1));
    }

    @Test
    void aConsoleLargerThanTheHeapIsScannedOneLineAtATime() throws Exception {
        Path file = dir.resolve("console.log");
        try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            w.write("init: started (uptime 1.99s)\r\n");
            for (int i = 0; i < 1_000_000; i++) { // 64 MB of a chatty guest
                w.write("[   12.345678] a kernel line that the guest printed again and again " + i + "\n");
            }
            w.write(AGENT_LINE + "\n");
            w.write("BUG: soft lockup - CPU#1 stuck for 45s! [init:126]\n");
        }
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx24m",
                "-cp", System.getProperty("java.class.path"), ConsoleLogTest.class.getName(), file.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertEquals(List.of("BUG: soft lockup - CPU#1 stuck for 45s! [init:126]", "true", "1",
                "BUG: soft lockup - CPU#1 stuck for 45s! [init:126]"), out.lines().toList());
    }

    @Test
    void aLineLongerThanTheLimitIsCutAndTheNextOneIsRead() throws Exception {
        Path file = dir.resolve("console.log");
        Files.writeString(file, "x".repeat(ConsoleLog.MAX_LINE_BYTES * 3) + "init: hidden past the cut\n"
                + "init: started\n");
        ConsoleLog console = new ConsoleLog(file);
        assertTrue(console.contains("init: started"));
        assertEquals(false, console.contains("hidden past the cut"), "past the cut a line is not looked at");
        assertEquals(Optional.empty(), console.softLockup(1));
    }
}
