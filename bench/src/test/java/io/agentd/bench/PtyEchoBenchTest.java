package io.agentd.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class PtyEchoBenchTest {

    @Test
    void theFreshAgentRowNamesTheEchoesItTimedNotTheFirstOnes() {
        assertEquals("PTY echo p50, a fresh agent's echoes 51-1050 (the first 50 untimed)",
                PtyEchoBench.freshAgentFigureName(50, 1000));
    }
}
