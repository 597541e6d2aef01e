package io.agentd.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The log's queue in front of a sink that takes nothing (a serial console far behind, a pipe nobody
 * reads): the thread that logs never waits, lines that do not fit are dropped whole and counted, the
 * count is told at their place once the sink takes lines again, and a close waits for the sink only
 * so long.
 */
@Timeout(30)
class LogLineQueueTest {
    private static final int CAPACITY = 1000;

    /** A sink whose writes wait until {@link #open} is counted down. */
    private static final class HeldSink extends OutputStream {
        final CountDownLatch open = new CountDownLatch(1);
        final ByteArrayOutputStream written = new ByteArrayOutputStream();

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            try {
                open.await();
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
            synchronized (written) {
                written.write(b, off, len);
            }
        }

        List<String> lines() {
            synchronized (written) {
                return written.toString(StandardCharsets.UTF_8).lines().toList();
            }
        }
    }

    private static final LogLineQueue.DroppedNotice NOTICE = (lines, bytes) ->
            ("dropped " + lines + " lines " + bytes + " bytes\n").getBytes(StandardCharsets.UTF_8);

    private static byte[] line(int n) {
        return String.format("line %04d%n", n).getBytes(StandardCharsets.UTF_8); // 10 bytes
    }

    @Test
    void writesNeverWaitForTheSinkAndTheDroppedAreToldAtTheirPlace() throws Exception {
        HeldSink sink = new HeldSink();
        LogLineQueue queue = new LogLineQueue(sink, CAPACITY, NOTICE);
        long start = System.nanoTime();
        for (int n = 1; n <= 200; n++) {
            queue.write(line(n));
        }
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(tookMillis < 5000, "200 lines into a full queue took " + tookMillis + " ms");
        assertFalse(queue.awaitWritten(50), "the sink took nothing: the lines are still queued");

        int kept = CAPACITY / (10 + LogLineQueue.LINE_OVERHEAD_BYTES);
        sink.open.countDown();
        assertTrue(queue.awaitWritten(10_000));
        queue.write(line(201)); // after the drops: written after their notice
        assertTrue(queue.awaitWritten(10_000));

        List<String> expected = new ArrayList<>();
        for (int n = 1; n <= kept; n++) {
            expected.add(String.format("line %04d", n));
        }
        expected.add("dropped " + (200 - kept) + " lines " + (200 - kept) * 10 + " bytes");
        expected.add("line 0201");
        assertEquals(expected, sink.lines());
    }

    @Test
    void aFullQueueTakesLinesAgainOnlyOnceHalfIsFreeSoDropsComeInRuns() throws Exception {
        HeldSink sink = new HeldSink();
        LogLineQueue queue = new LogLineQueue(sink, CAPACITY, NOTICE);
        int kept = CAPACITY / (10 + LogLineQueue.LINE_OVERHEAD_BYTES);
        for (int n = 1; n <= kept + 1; n++) {
            queue.write(line(n)); // the last one dropped
        }
        sink.open.countDown();
        assertTrue(queue.awaitWritten(10_000));
        List<String> lines = sink.lines();
        assertEquals(kept + 1, lines.size(), lines.toString());
        assertEquals("dropped 1 lines 10 bytes", lines.get(kept));
    }

    @Test
    void aCloseWaitsForTheSinkABoundedTime() throws Exception {
        HeldSink sink = new HeldSink(); // never opened
        LogLineQueue queue = new LogLineQueue(sink, CAPACITY, NOTICE);
        queue.write(line(1));
        long start = System.nanoTime();
        queue.close();
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(tookMillis >= LogLineQueue.CLOSE_WAIT_MILLIS - 100 && tookMillis < 10_000,
                "close took " + tookMillis + " ms");
        sink.open.countDown(); // let the writer go
    }

    @Test
    void aCloseWritesWhatIsQueuedFirst() throws Exception {
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        LogLineQueue queue = new LogLineQueue(sink, CAPACITY, NOTICE);
        for (int n = 1; n <= 5; n++) {
            queue.write(line(n));
        }
        queue.close();
        assertEquals(5, sink.toString(StandardCharsets.UTF_8).lines().count());
    }
}
