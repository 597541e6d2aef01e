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

    /** What a ring of {@code chunks} chunks and one run is charged, with its first tables (4 entries each). */
    private static long charge(int chunks) {
        return chunks * (long) OutputRing.CHUNK + OutputRing.RUN_COST + 2L * 4 * Long.BYTES;
    }

    @Test
    void theTotalIsNeverPassedAndTheFullestRingDropsFirst() {
        OutputRetention retention = new OutputRetention(16384, 5 * OutputRing.CHUNK);
        OutputRing big = retention.open(0);
        OutputRing small = retention.open(0);
        write(retention, big, 12000);
        write(retention, small, 3000);
        assertEquals(15000 + 2 * OutputRing.RUN_COST, retention.held());
        assertEquals(charge(3) + charge(1), retention.charged(), "chunks are charged whole");
        write(retention, small, 3000); // a second chunk for small: past the total
        assertTrue(retention.charged() <= retention.total(), "charged " + retention.charged());
        assertEquals(0, small.dropped(), "the smaller ring kept everything");
        assertEquals(retention.held() - small.held(), big.held());
        assertTrue(big.dropped() > 0);
        assertEquals(big.start(), big.dropped());
        assertTrue(retention.allocated() <= retention.charged());
    }

    @Test
    void aRingThatIsTheFullestPaysForItsOwnOutput() {
        long total = 3L * OutputRing.CHUNK + 256;
        OutputRetention retention = new OutputRetention(8192, total);
        OutputRing a = retention.open(0);
        OutputRing b = retention.open(0);
        write(retention, b, 100);
        for (int i = 0; i < 100; i++) {
            write(retention, a, 100);
            assertTrue(retention.charged() <= total, "charged " + retention.charged());
        }
        assertEquals(100, b.end() - b.start(), "the quiet session's output is kept");
        assertEquals(10_000, a.end());
    }

    /**
     * Many sessions that each kept a little: each costs its chunk, and the total holds that too. 1,000
     * rings of one byte under a 1 MiB total allocate about 1 MiB; before, the total counted 1,000
     * bytes and 64 each while they allocated 4 MiB (16,000 such sessions: 63.5 MiB, counted 1 MiB).
     */
    @Test
    void manySessionsKeepingALittleAreChargedWhatTheyAllocate() {
        long total = 1L << 20;
        OutputRetention retention = new OutputRetention(4096, total);
        OutputRing[] rings = new OutputRing[1000];
        for (int i = 0; i < rings.length; i++) {
            rings[i] = retention.open(0);
            write(retention, rings[i], 1);
        }
        assertTrue(retention.allocated() <= total + 64L * rings.length, "allocated " + retention.allocated());
        assertTrue(retention.allocated() <= retention.charged(), retention.allocated() + " > " + retention.charged());
        int kept = 0;
        for (OutputRing r : rings) {
            assertEquals(1, r.end(), "every byte counted");
            assertEquals(r.start(), r.dropped(), "what is not kept is counted dropped");
            kept += (int) (r.end() - r.start());
        }
        // The total goes to the rings that kept their byte, but for the emptied rings' tables (64 bytes each).
        assertTrue(kept >= (total - 64L * rings.length) / charge(1) && kept <= total / charge(1),
                "rings keeping their byte: " + kept);
        for (OutputRing r : rings) {
            retention.close(r);
        }
        assertEquals(0, retention.charged(), "closed rings are not charged");
        assertEquals(0, retention.held());
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
        assertTrue(retention.allocated() <= retention.charged() && retention.charged() <= total, "allocated "
                + retention.allocated() + ", charged " + retention.charged() + " (total " + total + ")");
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
