package io.agentd.agent.transport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.loop.Loop;
import io.agentd.agent.loop.ScriptedLoop;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.Protocol;
import io.agentd.protocol.ProtocolException;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ExecData;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Large incoming frames over several links share one budget: a frame's length is reserved before
 * its decoder sees it, a link whose large frame does not fit waits (reading nothing) until another
 * link's frame is done, and small frames never wait. Links read pipes on a scripted loop.
 */
class LargeFrameBudgetTest {
    private static final int MIB = 1 << 20;
    private final ScriptedLoop loop = new ScriptedLoop();
    private final LargeFrameBudget budget = new LargeFrameBudget(Protocol.MAX_FRAME_LEN);
    private final List<int[]> pipes = new ArrayList<>();

    /** A link reading a pipe; the frames it decodes, with their data copied. */
    private final class Reader implements PortLink.Listener {
        final PortLink link = new PortLink(loop, 1 << 20, 0, budget);
        final int[] pipe = new int[2];
        final List<Frame> frames = new ArrayList<>();

        Reader() {
            assertEquals(0, Os.libc().pipe2(pipe, LibC.O_CLOEXEC | LibC.O_NONBLOCK));
            pipes.add(pipe);
            link.setListener(this);
            link.attach(pipe[0], PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.SKIP, wasConnected -> { });
        }

        /** Writes what the pipe takes of {@code bytes} from {@code off}, lets the link read; the new offset. */
        int pass(byte[] bytes, int off) throws Exception {
            int n = Os.write(pipe[1], ByteBuffer.wrap(bytes, off, bytes.length - off));
            loop.fire(pipe[0], Loop.READABLE);
            return off + Math.max(n, 0);
        }

        boolean reading() {
            return loop.registration(pipe[0]).reading();
        }

        @Override
        public void onConnected() {}

        @Override
        public void onFrame(Frame frame) {
            frames.add(frame.payload() instanceof ExecData d
                    ? new Frame(frame.id(), frame.type(), new ExecData(d.data().clone())) : frame);
        }

        @Override
        public void onProtocolError(ProtocolException e) {
            frames.add(new Frame(0, MessageType.CORE_ERROR, null));
        }

        @Override
        public void onOutputResumed() {}

        @Override
        public void onFlushed() {}
    }

    @AfterEach
    void closePipes() {
        for (int[] p : pipes) {
            Os.close(p[0]);
            Os.close(p[1]);
        }
    }

    private static byte[] stdinFrame(long id, int dataBytes) {
        byte[] data = new byte[dataBytes];
        Arrays.fill(data, (byte) id);
        return new FrameEncoder().encode(new Frame(id, MessageType.EXEC_STDIN, new ExecData(data)));
    }

    /** Passes all of {@code bytes} through the reader's pipe (the link reads as it goes). */
    private static void passAll(Reader r, byte[] bytes, int from) throws Exception {
        int off = from;
        while (off < bytes.length) {
            off = r.pass(bytes, off);
        }
    }

    @Test
    void aLargeFrameThatDoesNotFitWaitsForAnotherLinksFrameToEnd() throws Exception {
        Reader a = new Reader();
        Reader b = new Reader();
        byte[] big = stdinFrame(1, 3 * MIB);
        byte[] other = stdinFrame(2, 2 * MIB);
        int offA = a.pass(big, 0);
        assertEquals(big.length - Protocol.LENGTH_BYTES, budget.reserved(), "a reserved its frame's length");

        int offB = b.pass(other, 0);
        assertFalse(b.reading(), "b's frame does not fit: b reads no more");
        assertEquals(1, budget.waiting());
        assertEquals(big.length - Protocol.LENGTH_BYTES, budget.reserved(), "nothing of b's frame reserved");

        passAll(a, big, offA);
        assertEquals(1, a.frames.size());
        assertEquals(3 * MIB, ((ExecData) a.frames.get(0).payload()).data().length);
        assertEquals(0, budget.reserved(), "a's frame decoded, its decoder replaced: the bytes are free");

        loop.advance(0); // b's retry
        assertTrue(b.reading(), "b reads again");
        assertEquals(other.length - Protocol.LENGTH_BYTES, budget.reserved());
        passAll(b, other, offB);
        assertEquals(1, b.frames.size());
        byte[] data = ((ExecData) b.frames.get(0).payload()).data();
        byte[] expected = new byte[2 * MIB];
        Arrays.fill(expected, (byte) 2);
        assertArrayEquals(expected, data, "b's frame intact after the wait");
        assertEquals(0, budget.reserved());
    }

    @Test
    void smallFramesNeverWait() throws Exception {
        Reader a = new Reader();
        Reader b = new Reader();
        byte[] big = stdinFrame(1, 4 * MIB - 64);
        a.pass(big, 0); // the whole budget
        byte[] pings = new byte[0];
        FrameEncoder enc = new FrameEncoder();
        for (int i = 1; i <= 3; i++) {
            byte[] f = enc.encode(new Frame(i, MessageType.CORE_PING, Empty.INSTANCE));
            byte[] all = Arrays.copyOf(pings, pings.length + f.length);
            System.arraycopy(f, 0, all, pings.length, f.length);
            pings = all;
        }
        byte[] chunk = stdinFrame(4, 64 * 1024); // the client's stdin chunk
        byte[] both = Arrays.copyOf(pings, pings.length + chunk.length);
        System.arraycopy(chunk, 0, both, pings.length, chunk.length);
        passAll(b, both, 0);
        assertEquals(4, b.frames.size(), "pings and a 64 KiB stdin chunk pass while the budget is spent");
        assertTrue(b.reading());
    }

    @Test
    void aLengthPrefixSplitAcrossReadsIsHeldUntilItIsWhole() throws Exception {
        Reader a = new Reader();
        byte[] big = stdinFrame(1, 2 * MIB);
        a.pass(Arrays.copyOf(big, 3), 0); // three bytes of the prefix
        assertEquals(0, budget.reserved(), "no length yet");
        passAll(a, big, 3);
        assertEquals(1, a.frames.size());
        assertEquals(2 * MIB, ((ExecData) a.frames.get(0).payload()).data().length);
    }

    @Test
    void aLinkThatGoesAwayGivesItsReservationBack() throws Exception {
        Reader a = new Reader();
        Reader b = new Reader();
        byte[] big = stdinFrame(1, 3 * MIB);
        a.pass(big, 0);
        b.pass(stdinFrame(2, 2 * MIB), 0);
        assertFalse(b.reading());
        Os.close(a.pipe[1]);
        a.pipe[1] = -1;
        loop.fire(a.pipe[0], Loop.HANGUP);
        assertEquals(0, budget.reserved(), "a's half frame is dropped with its reservation");
        loop.advance(0);
        assertTrue(b.reading(), "b goes on");
        assertTrue(budget.reserved() > 2 * MIB, "b reserved its frame");
    }
}
