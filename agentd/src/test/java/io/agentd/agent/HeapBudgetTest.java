package io.agentd.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class HeapBudgetTest {
    private static final long MIB = 1L << 20;

    @Test
    void theDefaultBudgetsNeedTheirSumAndRoomForTheRest() throws Exception {
        AgentOptions defaults = AgentOptions.parse("--listen", "unix:/tmp/x.sock");
        assertEquals((64 + 64 + 32 + 64) * MIB, HeapBudget.needed(defaults));
        assertNull(HeapBudget.shortfall(defaults, 256 * MIB));
        String shortfall = HeapBudget.shortfall(defaults, 160 * MIB);
        assertNotNull(shortfall, "the launcher's old -Xmx160m did not hold the defaults");
        assertTrue(shortfall.contains("--session-buffer-total 64 MiB") && shortfall.contains("--stdin-total 64 MiB")
                && shortfall.contains("-Xmx"), shortfall);
    }

    @Test
    void largerBudgetsNeedALargerHeap() throws Exception {
        AgentOptions big = AgentOptions.parse("--listen", "unix:/tmp/x.sock", "--stdin-total", "512m");
        assertNotNull(HeapBudget.shortfall(big, 256 * MIB));
        assertNull(HeapBudget.shortfall(big, 1024 * MIB));
    }
}
