package io.agentd.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class HeapBudgetTest {
    private static final long MIB = 1L << 20;

    @Test
    void theDefaultBudgetsNeedTheirSumAndRoomForTheRest() throws Exception {
        AgentOptions defaults = AgentOptions.parse("--listen", "unix:/tmp/x.sock");
        assertEquals((64 + 64 + 32 + 64) * MIB, HeapBudget.needed(defaults));
        assertNull(HeapBudget.refusal(defaults, 256 * MIB));
        String refusal = HeapBudget.refusal(defaults, 160 * MIB);
        assertNotNull(refusal, "the launcher's old -Xmx160m did not hold the defaults");
        assertTrue(refusal.contains("--session-buffer-total 64 MiB") && refusal.contains("--stdin-total 64 MiB")
                && refusal.contains("-Xmx"), refusal);
    }

    @Test
    void largerBudgetsNeedALargerHeap() throws Exception {
        AgentOptions big = AgentOptions.parse("--listen", "unix:/tmp/x.sock", "--stdin-total", "512m");
        assertNotNull(HeapBudget.refusal(big, 256 * MIB));
        assertNull(HeapBudget.refusal(big, 1024 * MIB));
    }

    /** The launcher's heap holds its defaults: an agent started as operators start it gets past the check. */
    @Test
    void theLauncherRefusesBudgetsItsHeapCannotHoldWithExitTwoAndOneLine() throws Exception {
        Path launcher = Path.of("..", "scripts", "agentd").toAbsolutePath().normalize();
        Process p = new ProcessBuilder(launcher.toString(), "--listen", "unix:/tmp/heap-budget-test.sock",
                "--stdin-total", "1g").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), out);
        assertEquals(2, p.exitValue(), out);
        assertTrue(out.contains("the heap may grow to ") && out.contains("--stdin-total 1024 MiB"), out);
    }
}
