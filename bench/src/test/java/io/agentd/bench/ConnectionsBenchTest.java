package io.agentd.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class ConnectionsBenchTest {

    @Test
    void theHostsAtOnceRowMissesWhenOneOfTheirExecsDidNotExitZero() {
        Figure oneShort = ConnectionsBench.togetherExitedZero(63, 64);

        assertEquals(Figure.Verdict.MISS, oneShort.verdict());
        assertEquals(63, oneShort.value());
        assertEquals(64, oneShort.baseline());
        assertEquals(Figure.Verdict.PASS, ConnectionsBench.togetherExitedZero(64, 64).verdict());
    }
}
