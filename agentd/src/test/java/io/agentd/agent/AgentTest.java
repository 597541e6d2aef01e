package io.agentd.agent;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** clock.sync's decision; stepping the real clock is left to the guest tests (it is the machine's). */
class AgentTest {
    @Test
    void clockIsSteppedOnlyWhenOffByMoreThan100Ms() {
        long ms = 1_000_000L;
        assertFalse(Connection.needsStep(0));
        assertFalse(Connection.needsStep(100 * ms));
        assertFalse(Connection.needsStep(-100 * ms));
        assertTrue(Connection.needsStep(100 * ms + 1));
        assertTrue(Connection.needsStep(-100 * ms - 1));
    }
}
