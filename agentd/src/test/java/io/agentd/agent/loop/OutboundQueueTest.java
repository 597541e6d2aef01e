package io.agentd.agent.loop;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameDecoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ExecData;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The outbound queue writing real frames into a real non-blocking pipe. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class OutboundQueueTest {
    /** The queue's port in these tests. */
    private int[] pipe;
    private final List<int[]> opened = new ArrayList<>();

    @AfterEach
    void closePipes() {
        for (int[] fds : opened) {
            Os.close(fds[0]);
            Os.close(fds[1]);
        }
    }

    private void openPipe() {
        pipe = newPipe();
    }

    /** A non-blocking pipe {read end, write end}, closed after the test. */
    private int[] newPipe() {
        int[] fds = new int[2];
        assertEquals(0, Os.libc().pipe2(fds, LibC.O_CLOEXEC | LibC.O_NONBLOCK));
        opened.add(fds);
        return fds;
    }

    @Test
    void framesComeOutInOrderAndDecodeWhenThePipeFillsAndDrains() throws Exception {
        openPipe();
        OutboundQueue q = new OutboundQueue();
        List<Frame> sent = new ArrayList<>();
        byte[] big = new byte[300 * 1024]; // larger than a segment
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) (i * 31);
        }
        for (int i = 0; i < 40; i++) {
            Frame ping = new Frame(i, MessageType.CORE_PONG, Empty.INSTANCE);
            q.add(ping);
            sent.add(ping);
            int len = (i * 7919) % big.length;
            q.addData(i, MessageType.EXEC_STDOUT, ByteBuffer.wrap(big, 0, len));
            sent.add(new Frame(i, MessageType.EXEC_STDOUT, new ExecData(java.util.Arrays.copyOf(big, len))));
        }
        long total = q.queuedBytes();
        assertTrue(total > 4 * 1024 * 1024);

        FrameDecoder decoder = new FrameDecoder();
        List<Frame> got = new ArrayList<>();
        ByteBuffer buf = ByteBuffer.allocateDirect(64 * 1024);
        boolean empty = false;
        int partialWrites = 0;
        while (!empty) {
            empty = q.writeTo(pipe[1]);
            if (!empty) {
                partialWrites++; // the pipe is full: drain it like a slow host
            }
            int n;
            while ((n = Os.read(pipe[0], buf.clear())) > 0) {
                decoder.feed(buf.flip());
            }
            Frame f;
            while ((f = decoder.next()) != null) {
                got.add(f);
            }
        }
        assertTrue(partialWrites > 0, "the pipe filled up at least once");
        assertEquals(0, q.queuedBytes());
        assertTrue(q.isEmpty());
        assertEquals(sent.size(), got.size());
        for (int i = 0; i < sent.size(); i++) {
            assertEquals(sent.get(i).id(), got.get(i).id());
            assertEquals(sent.get(i).type(), got.get(i).type());
            if (sent.get(i).payload() instanceof ExecData d) {
                assertArrayEquals(d.data(), ((ExecData) got.get(i).payload()).data());
            }
        }
    }

    @Test
    void aFullPipeKeepsTheRestQueuedAndCountedAndClearDropsIt() throws Exception {
        openPipe();
        OutboundQueue q = new OutboundQueue();
        byte[] data = new byte[1 << 20];
        q.addData(1, MessageType.EXEC_STDOUT, ByteBuffer.wrap(data));
        long before = q.queuedBytes();
        assertFalse(q.writeTo(pipe[1]), "a 64 KiB pipe cannot take 1 MiB");
        long written = before - q.queuedBytes();
        assertTrue(written > 0 && written < before, "written " + written);
        assertEquals(written, q.dequeuedBytes(), "what left the queue, counted");
        q.clear();
        assertTrue(q.isEmpty());
        assertEquals(before, q.dequeuedBytes(), "what was dropped left it too");
        assertTrue(q.writeTo(pipe[1]), "nothing left to write");
    }

    @Test
    void reusedSegmentsCarryOnlyTheNewFramesRound() throws Exception {
        openPipe();
        OutboundQueue q = new OutboundQueue();
        // Rounds of frames that fill one to three segments, each written out and read back before the
        // next round, so later rounds are encoded into segments an earlier round used.
        for (int round = 0; round < 30; round++) {
            List<Frame> sent = new ArrayList<>();
            int frames = 1 + (round * 37) % 11;
            for (int i = 0; i < frames; i++) {
                byte[] data = new byte[(round * 7919 + i * 104_729) % (70 * 1024)];
                java.util.Arrays.fill(data, (byte) (round * 16 + i));
                q.addData(round * 100L + i, MessageType.EXEC_STDERR, ByteBuffer.wrap(data));
                sent.add(new Frame(round * 100L + i, MessageType.EXEC_STDERR, new ExecData(data)));
            }
            assertEquals(sent, writeAndDecode(q), "round " + round);
        }
    }

    /** Spliced frames (data left in a real source pipe) between copied ones, written to a real pipe. */
    @Test
    void splicedDataTakesItsPlaceBetweenOtherFramesAndLeavesTheSourcePipeEmpty() throws Exception {
        openPipe();
        int[] source = newPipe();
        OutboundQueue q = new OutboundQueue();
        q.allowSplicedData(true);
        List<Frame> sent = new ArrayList<>();
        int[] released = new int[1];
        for (int i = 0; i < 6; i++) {
            byte[] data = new byte[5000 + i * 3000];
            java.util.Arrays.fill(data, (byte) ('a' + i));
            assertEquals(data.length, Os.write(source[1], ByteBuffer.wrap(data)));
            q.add(new Frame(i, MessageType.CORE_PONG, Empty.INSTANCE));
            sent.add(new Frame(i, MessageType.CORE_PONG, Empty.INSTANCE));
            q.addSplicedData(i, MessageType.EXEC_STDOUT, source[0], data.length, left -> released[0]++);
            sent.add(new Frame(i, MessageType.EXEC_STDOUT, new ExecData(data)));
            if (i == 3) {
                q.takeOutOfPipe(source[0]); // as before a session closes its pipe: frames keep their place
                assertEquals(4, released[0], "taking the bytes out releases every span of the pipe");
                assertEquals(0, Os.bytesReadable(source[0]));
            }
        }
        assertTrue(q.acceptsSplicedData());
        assertEquals(sent, writeAndDecode(q));
        assertEquals(6, released[0], "each span released once");
        assertEquals(0, Os.bytesReadable(source[0]), "every announced byte left the source pipe");
    }

    @Test
    void clearLeavesAnnouncedBytesInTheirPipeAndReleasesThem() throws Exception {
        openPipe();
        int[] source = newPipe();
        OutboundQueue q = new OutboundQueue();
        q.allowSplicedData(true);
        assertEquals(3, Os.write(source[1], ByteBuffer.wrap(new byte[] {1, 2, 3})));
        int[] released = new int[1];
        q.addSplicedData(1, MessageType.EXEC_STDERR, source[0], 3, left -> released[0]++);
        assertTrue(q.queuedBytes() > 3);
        q.clear();
        assertEquals(1, released[0]);
        assertEquals(3, Os.bytesReadable(source[0]), "the bytes are still there for the session to read");
        assertTrue(q.writeTo(pipe[1]));
        assertEquals(0, Os.bytesReadable(pipe[0]), "nothing of the dropped frame was written");
    }

    /**
     * A spliced frame cut by a full port (its header and part of its data written): dropping the
     * cut frame leaves the unwritten data in its pipe, handed back with its count, and the queue at
     * the next frame's start.
     */
    @Test
    void aSplicedFrameCutMidDataIsDroppedWithItsRestLeftInThePipe() throws Exception {
        openPipe();
        int[] source = newPipe();
        assertTrue(Os.libc().fcntl(source[1], LibC.F_SETPIPE_SZ, 256 * 1024) >= 256 * 1024);
        int length = 100_000; // more than the port pipe's 64 KiB
        assertEquals(length, Os.write(source[1], ByteBuffer.allocateDirect(length)));
        OutboundQueue q = new OutboundQueue();
        q.allowSplicedData(true);
        int[] left = {-1};
        q.addSplicedData(1, MessageType.EXEC_STDOUT, source[0], length, n -> left[0] = n);
        q.add(new Frame(2, MessageType.CORE_PONG, Empty.INSTANCE));
        long added = q.queuedBytes();
        assertFalse(q.writeTo(pipe[1]), "the port filled inside the data");
        assertEquals(added, q.dequeuedBytes() + q.queuedBytes(), "spliced bytes written are counted as they go");
        int unwritten = Os.bytesReadable(source[0]);
        assertTrue(unwritten > 0 && unwritten < length, "cut mid-data: " + unwritten);

        assertTrue(q.dropPartlyWrittenFrame() >= unwritten);
        assertEquals(added, q.dequeuedBytes() + q.queuedBytes(), "and so are those dropped");
        assertEquals(unwritten, left[0], "the unwritten data is the session's again");
        assertEquals(unwritten, Os.bytesReadable(source[0]));
        assertEquals(0, q.dropPartlyWrittenFrame(), "at a frame's start now");
        ByteBuffer old = ByteBuffer.allocateDirect(128 * 1024);
        Os.read(pipe[0], old); // what the gone host was given
        assertEquals(List.of(new Frame(2, MessageType.CORE_PONG, Empty.INSTANCE)), writeAndDecode(q));
    }

    /**
     * Writes the queue out through the test pipe, reading as it goes; returns the frames decoded,
     * which must end exactly at the last byte written.
     */
    private List<Frame> writeAndDecode(OutboundQueue q) throws Exception {
        FrameDecoder decoder = new FrameDecoder();
        ByteBuffer buf = ByteBuffer.allocateDirect(64 * 1024);
        List<Frame> got = new ArrayList<>();
        boolean empty = false;
        while (!empty) {
            empty = q.writeTo(pipe[1]);
            while (Os.read(pipe[0], buf.clear()) > 0) {
                decoder.feed(buf.flip());
            }
        }
        Frame f;
        while ((f = decoder.next()) != null) {
            got.add(f);
        }
        assertEquals(0, decoder.buffered());
        return got;
    }

    /** 1000 sessions' small spliced frames share one segment instead of a segment each. */
    @Test
    void splicedFramesFromManyPipesShareSegmentsWithOtherFrames() throws Exception {
        openPipe();
        OutboundQueue q = new OutboundQueue();
        q.allowSplicedData(true);
        List<Frame> sent = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            int[] source = newPipe();
            byte[] line = ("line from pipe " + i + "\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            assertEquals(line.length, Os.write(source[1], ByteBuffer.wrap(line)));
            q.addSplicedData(i + 1, MessageType.EXEC_STDOUT, source[0], line.length, left -> {});
            sent.add(new Frame(i + 1, MessageType.EXEC_STDOUT, new ExecData(line)));
            q.add(new Frame(i + 1, MessageType.CORE_PONG, Empty.INSTANCE));
            sent.add(new Frame(i + 1, MessageType.CORE_PONG, Empty.INSTANCE));
        }
        assertEquals(1, q.segmentsInUse());
        assertEquals(sent, writeAndDecode(q));
        assertEquals(0, q.segmentsInUse(), "a queue written out holds no segment (it went back to the pool)");
    }
}
