package io.agentd.agent.session.retain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecData;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The per-session ring: offsets, streams in order, the cap with runs charged, drops counted. */
class OutputRingTest {
    private record Piece(int stream, long offset, String text) {}

    private static List<Piece> replay(OutputRing ring, long from, int maxPiece) {
        List<Piece> pieces = new ArrayList<>();
        ring.replay(from, maxPiece, (stream, offset, data) ->
                pieces.add(new Piece(stream, offset, new String(data, StandardCharsets.ISO_8859_1))));
        return pieces;
    }

    private static long put(OutputRing ring, int stream, String text) {
        byte[] b = text.getBytes(StandardCharsets.ISO_8859_1);
        return ring.append(stream, b, 0, b.length);
    }

    @Test
    void replaysEveryByteFromAnyOffsetWithItsStreamInOrder() {
        OutputRing ring = new OutputRing(4096, 0);
        put(ring, OutputRing.STDOUT, "hello ");
        put(ring, OutputRing.STDOUT, "world\n");
        put(ring, OutputRing.STDERR, "oops\n");
        put(ring, OutputRing.STDOUT, "bye\n");
        assertEquals(0, ring.start());
        assertEquals(21, ring.end());
        assertEquals(List.of(new Piece(0, 0, "hello world\n"), new Piece(1, 12, "oops\n"), new Piece(0, 17, "bye\n")),
                replay(ring, 0, 1000));
        assertEquals(List.of(new Piece(1, 14, "ps\n"), new Piece(0, 17, "bye\n")), replay(ring, 14, 1000));
        assertEquals(List.of(), replay(ring, 21, 1000));
        assertEquals(List.of(new Piece(0, 0, "hello"), new Piece(0, 5, " worl"), new Piece(0, 10, "d\n")),
                replay(ring, 0, 5).subList(0, 3));
        assertEquals(21 + 3 * OutputRing.RUN_COST, ring.held());
        assertEquals(0, ring.dropped());
    }

    @Test
    void aRingStartedWhereAHostLeftCountsFromThere() {
        OutputRing ring = new OutputRing(4096, 1000);
        put(ring, OutputRing.STDOUT, "abc");
        assertEquals(1000, ring.start());
        assertEquals(1003, ring.end());
        assertEquals(List.of(new Piece(0, 1001, "bc")), replay(ring, 1001, 100));
        assertThrows(IllegalArgumentException.class, () -> replay(ring, 999, 100));
        assertThrows(IllegalArgumentException.class, () -> replay(ring, 1004, 100));
    }

    @Test
    void keepsTheNewestBytesWithinTheCapAndCountsTheDropped() {
        OutputRing ring = new OutputRing(1024, 0);
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        Random random = new Random(7);
        for (int i = 0; i < 500; i++) {
            byte[] b = new byte[1 + random.nextInt(100)];
            random.nextBytes(b);
            all.writeBytes(b);
            ring.append(OutputRing.STDOUT, b, 0, b.length);
            assertTrue(ring.held() <= 1024, "held " + ring.held());
        }
        byte[] everything = all.toByteArray();
        assertEquals(everything.length, ring.end());
        assertEquals(ring.start(), ring.dropped());
        assertEquals(1024 - OutputRing.RUN_COST, ring.end() - ring.start(), "one run: the rest is bytes");
        ByteArrayOutputStream kept = new ByteArrayOutputStream();
        ring.replay(ring.start(), 300, (stream, offset, data) -> kept.writeBytes(data));
        byte[] tail = java.util.Arrays.copyOfRange(everything, (int) ring.start(), everything.length);
        assertArrayEquals(tail, kept.toByteArray());
    }

    @Test
    void replayingARingOfShortRunsPutsNoMoreOnTheWireThanItsCap() {
        // What an attach queues is the ring replayed as data frames on the attach's id: their
        // encoded size stays within what the ring is charged however short its runs. (A long run
        // goes in 64 KiB pieces, each an envelope more than charged: 0.1% over at most.)
        FrameEncoder encoder = new FrameEncoder();
        long attachId = 0xFFFF_FFFFL; // the largest id encodes longest
        for (int runBytes : new int[] {1, 2, 7, 100}) {
            OutputRing ring = new OutputRing(1 << 20, 0);
            for (int i = 0; ring.dropped() == 0; i++) {
                put(ring, i % 2, "x".repeat(runBytes));
            }
            long[] wire = {0};
            ring.replay(ring.start(), 64 * 1024, (stream, offset, data) -> wire[0] += encoder.encode(new Frame(attachId,
                    stream == OutputRing.STDERR ? MessageType.EXEC_STDERR : MessageType.EXEC_STDOUT,
                    new ExecData(data))).length);
            assertTrue(wire[0] <= ring.cap(), runBytes + "-byte runs: " + wire[0] + " bytes on the wire for a ring of "
                    + ring.cap());
        }
    }

    @Test
    void aDropOfShortRunsFreesWhatWasAskedNotAByteForEachByteOfIt() {
        OutputRing ring = new OutputRing(1 << 20, 0);
        for (int i = 0; i < 1000; i++) {
            put(ring, i % 2, "x");
        }
        long freed = ring.dropOldest(OutputRing.RUN_COST);
        assertEquals(1 + OutputRing.RUN_COST, freed, "one run and its byte cover the charge");
        assertEquals(1, ring.start());
        assertEquals(2 * (1 + OutputRing.RUN_COST), ring.dropOldest(OutputRing.RUN_COST + 2));
    }

    @Test
    void alternatingStreamsAreChargedForTheirRunsSoTheCapHolds() {
        OutputRing ring = new OutputRing(1024, 0);
        for (int i = 0; i < 10_000; i++) {
            put(ring, i % 2, "x");
            assertTrue(ring.held() <= 1024);
        }
        assertEquals(10_000, ring.end());
        long kept = ring.end() - ring.start();
        // Each byte is a run of its own; a drop counts bytes, so it may free one run more than needed.
        assertTrue(kept >= 1024 / (1 + OutputRing.RUN_COST) - 1 && kept <= 1024 / (1 + OutputRing.RUN_COST), "kept " + kept);
        List<Piece> pieces = replay(ring, ring.start(), 100);
        assertEquals(kept, pieces.size());
        for (int i = 1; i < pieces.size(); i++) {
            assertTrue(pieces.get(i).stream() != pieces.get(i - 1).stream());
        }
    }

    /**
     * Bytes across many chunks come back in order and intact; what is dropped gives its chunks (and
     * the runs' slack) back, so a ring trimmed to a little allocates a little.
     */
    @Test
    void keptBytesSpanChunksAndDroppedOnesGiveTheirMemoryBack() {
        OutputRing ring = new OutputRing(1 << 20, 0);
        StringBuilder all = new StringBuilder();
        int n = 0;
        for (int i = 0; all.length() < 200_000; i++) {
            int len = 1 + (i * 7919) % 9000;
            StringBuilder piece = new StringBuilder();
            for (int k = 0; k < len; k++) {
                piece.append((char) ('a' + (n++ % 26)));
            }
            put(ring, i % 5 == 4 ? OutputRing.STDERR : OutputRing.STDOUT, piece.toString());
            all.append(piece);
        }
        for (long from : new long[] {0, 1, OutputRing.CHUNK - 1, OutputRing.CHUNK, 123_457}) {
            StringBuilder back = new StringBuilder();
            replay(ring, from, 5000).forEach(p -> back.append(p.text()));
            assertEquals(all.substring((int) from), back.toString(), "from " + from);
        }
        ring.dropOldest(ring.held() - 10_000);
        assertTrue(ring.allocated() <= ring.held() + 2L * OutputRing.CHUNK + 1024,
                "allocated " + ring.allocated() + " for held " + ring.held());
        StringBuilder back = new StringBuilder();
        replay(ring, ring.start(), 5000).forEach(p -> back.append(p.text()));
        assertEquals(all.substring((int) ring.start()), back.toString());
        put(ring, OutputRing.STDOUT, "tail");
        assertEquals(all.length() + 4, ring.end());

        OutputRing runs = new OutputRing(1 << 20, 0);
        for (int i = 0; i < 100_000; i++) {
            put(runs, i % 2, "x");
        }
        runs.dropOldest(runs.held() - 100);
        assertTrue(runs.allocated() <= 4L * OutputRing.CHUNK, "allocated " + runs.allocated());
    }

    @Test
    void aWriteLargerThanTheCapKeepsItsTail() {
        OutputRing ring = new OutputRing(1024, 0);
        put(ring, OutputRing.STDERR, "early");
        byte[] big = new byte[5000];
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) i;
        }
        ring.append(OutputRing.STDOUT, big, 0, big.length);
        assertEquals(5005, ring.end());
        assertEquals(5005 - (1024 - OutputRing.RUN_COST), ring.start());
        assertEquals(ring.start(), ring.dropped());
        List<Piece> pieces = replay(ring, ring.start(), 4096);
        assertEquals(1, pieces.size());
        assertEquals(OutputRing.STDOUT, pieces.get(0).stream());
        assertEquals((byte) (5000 - 1), (byte) pieces.get(0).text().charAt(pieces.get(0).text().length() - 1));
    }

    @Test
    void dropOldestFreesBytesAndTheRunsThatEnd() {
        OutputRing ring = new OutputRing(4096, 0);
        put(ring, OutputRing.STDOUT, "aaaa");
        put(ring, OutputRing.STDERR, "bbbb");
        long freed = ring.dropOldest(4);
        assertEquals(4 + OutputRing.RUN_COST, freed, "the stdout run went with its bytes");
        assertEquals(List.of(new Piece(1, 4, "bbbb")), replay(ring, 4, 100));
        assertEquals(4 + OutputRing.RUN_COST, ring.clear());
        assertEquals(0, ring.held());
        assertEquals(8, ring.start());
        assertEquals(8, ring.end());
    }
}
