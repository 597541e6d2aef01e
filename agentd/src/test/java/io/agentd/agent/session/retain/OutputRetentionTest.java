package io.agentd.agent.session.retain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The agent-wide total: never passed, the fullest ring pays first, closed rings give back. */
class OutputRetentionTest {
    private static void write(OutputRetention r, OutputRing ring, int bytes) {
        r.record(ring, OutputRing.STDOUT, new byte[bytes], 0, bytes);
    }

    @Test
    void theTotalIsNeverPassedAndTheFullestRingDropsFirst() {
        OutputRetention retention = new OutputRetention(4096, 6144);
        OutputRing big = retention.open(0);
        OutputRing small = retention.open(0);
        write(retention, big, 4000);
        write(retention, small, 1000);
        assertEquals(5000 + 2 * OutputRing.RUN_COST, retention.held());
        write(retention, small, 1500);
        assertTrue(retention.held() <= 6144, "held " + retention.held());
        assertEquals(0, small.dropped(), "the smaller ring kept everything");
        assertEquals(retention.held() - small.held(), big.held());
        assertTrue(big.dropped() > 0);
        assertEquals(big.start(), big.dropped());
    }

    @Test
    void aRingThatIsTheFullestPaysForItsOwnOutput() {
        OutputRetention retention = new OutputRetention(4096, 4096);
        OutputRing a = retention.open(0);
        OutputRing b = retention.open(0);
        write(retention, b, 100);
        for (int i = 0; i < 100; i++) {
            write(retention, a, 100);
            assertTrue(retention.held() <= 4096);
        }
        assertEquals(100, b.end() - b.start(), "the quiet session's output is kept");
        assertEquals(10_000, a.end());
    }

    @Test
    void closingARingGivesItsShareBack() {
        OutputRetention retention = new OutputRetention(2048, 4096);
        OutputRing a = retention.open(0);
        write(retention, a, 2000);
        assertEquals(1, retention.rings());
        retention.close(a);
        assertEquals(0, retention.held());
        assertEquals(0, retention.rings());
        retention.close(a);
        assertEquals(0, retention.held(), "closing twice changes nothing");
    }

    @Test
    void capsAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> new OutputRetention(100, 4096));
        assertThrows(IllegalArgumentException.class, () -> new OutputRetention(4096, 2048));
    }
}
