package io.agentd.agent;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** clock.sync's decision; stepping the real clock is left to the guest tests (it is the machine's). */
class AgentTest {
    @Test
    void clockIsSteppedOnlyWhenOffByMoreThan100Ms() {
        long ms = 1_000_000L;
        assertFalse(ClockStep.needsStep(0));
        assertFalse(ClockStep.needsStep(100 * ms));
        assertFalse(ClockStep.needsStep(-100 * ms));
        assertTrue(ClockStep.needsStep(100 * ms + 1));
        assertTrue(ClockStep.needsStep(-100 * ms - 1));
    }
}
