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

    /**
     * The total counts memory, not only bytes held: 300 sessions that each wrote 1 MiB under a 64 MiB
     * total allocate 64 MiB and small slack, not a full-size array each (227 MB before the rings
     * gave back what the total trimmed).
     */
    @Test
    void ringsTrimmedByTheTotalGiveTheirMemoryBack() {
        long total = 64L << 20;
        OutputRetention retention = new OutputRetention(1 << 20, total);
        OutputRing[] rings = new OutputRing[300];
        byte[] chunk = new byte[64 * 1024];
        for (int i = 0; i < rings.length; i++) {
            rings[i] = retention.open(0);
            for (int n = 0; n < 16; n++) {
                retention.record(rings[i], OutputRing.STDOUT, chunk, 0, chunk.length);
            }
        }
        assertTrue(retention.held() <= total, "held " + retention.held());
        long slack = rings.length * (2L * OutputRing.CHUNK + 1024);
        assertTrue(retention.allocated() <= total + slack, "allocated " + retention.allocated() + " for held "
                + retention.held() + " (total " + total + ")");
        long kept = 0;
        for (OutputRing r : rings) {
            assertEquals(1 << 20, r.end(), "every byte counted");
            assertEquals(r.start(), r.dropped(), "what is not kept is counted dropped");
            kept += r.end() - r.start();
        }
        assertEquals(retention.held(), kept + rings.length * (long) OutputRing.RUN_COST);
        for (OutputRing r : rings) {
            retention.close(r);
        }
        assertEquals(0, retention.allocated(), "closed rings are not counted");
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
