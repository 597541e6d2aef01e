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
    private final int[] pipe = new int[2];

    @AfterEach
    void closePipe() {
        Os.close(pipe[0]);
        Os.close(pipe[1]);
    }

    private void openPipe() {
        assertEquals(0, Os.libc().pipe2(pipe, LibC.O_CLOEXEC | LibC.O_NONBLOCK));
    }

    @Test
    void framesComeOutInOrderAndDecodeWhenThePipeFillsAndDrains() throws Exception {
        openPipe();
        OutboundQueue q = new OutboundQueue();
        List<Frame> sent = new ArrayList<>();
        byte[] big = new byte[300 * 1024]; // larger than the staging buffer
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) (i * 31);
        }
        for (int i = 0; i < 40; i++) {
            Frame ping = new Frame(i, MessageType.CORE_PONG, Empty.INSTANCE);
            q.add(ping);
            sent.add(ping);
            int len = (i * 7919) % big.length;
            q.addData(i, MessageType.EXEC_STDOUT, big, 0, len);
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
        q.addData(1, MessageType.EXEC_STDOUT, data, 0, data.length);
        long before = q.queuedBytes();
        assertFalse(q.writeTo(pipe[1]), "a 64 KiB pipe cannot take 1 MiB");
        long written = before - q.queuedBytes();
        assertTrue(written > 0 && written < before, "written " + written);
        q.clear();
        assertTrue(q.isEmpty());
        assertTrue(q.writeTo(pipe[1]), "nothing left to write");
    }
}
