package io.agentd.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.agentd.protocol.payload.ExecData;
import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** A data frame's array handed back with recycle is reused for the next streamed frame of its size, and only then. */
class DataArrayRecycleTest {
    private static final int LEN = 64 * 1024;

    private static ByteBuffer frames(int count, Random random, byte[][] datas) {
        FrameEncoder encoder = new FrameEncoder();
        ByteBuffer out = ByteBuffer.allocate(count * FrameEncoder.maxDataFrameSize(LEN));
        for (int i = 0; i < count; i++) {
            datas[i] = new byte[LEN];
            random.nextBytes(datas[i]);
            encoder.encodeDataInto(i + 1, MessageType.EXEC_STDIN, datas[i], 0, LEN, out);
        }
        return out.flip();
    }

    /** Feeds in direct pieces (the agent's read buffer), so large data frames are streamed. */
    private static void feedInPieces(FrameDecoder decoder, ByteBuffer stream, int from, int to) {
        ByteBuffer direct = ByteBuffer.allocateDirect(to - from);
        direct.put(stream.duplicate().position(from).limit(to)).flip();
        decoder.feed(direct);
    }

    @Test
    void aRecycledArrayCarriesTheNextFrameAndAKeptOneIsNeverOverwritten() throws Exception {
        byte[][] datas = new byte[3][];
        ByteBuffer stream = frames(3, new Random(1), datas);
        int frameLen = stream.limit() / 3;
        FrameDecoder decoder = new FrameDecoder();

        feedInPieces(decoder, stream, 0, frameLen);
        Frame first = decoder.next();
        byte[] firstArray = ((ExecData) first.payload()).data();
        assertArrayEquals(datas[0], firstArray);
        decoder.recycle(first);

        feedInPieces(decoder, stream, frameLen, 2 * frameLen);
        Frame second = decoder.next();
        assertSame(firstArray, ((ExecData) second.payload()).data(), "the recycled array is reused");
        assertArrayEquals(datas[1], ((ExecData) second.payload()).data());
        // not recycled: the consumer keeps it, so the next frame gets a new array
        feedInPieces(decoder, stream, 2 * frameLen, 3 * frameLen);
        Frame third = decoder.next();
        assertNotSame(firstArray, ((ExecData) third.payload()).data());
        assertArrayEquals(datas[1], ((ExecData) second.payload()).data());
        assertArrayEquals(datas[2], ((ExecData) third.payload()).data());
    }

    @Test
    void recyclingAnOlderFrameOfOneFeedIsIgnored() throws Exception {
        byte[][] datas = new byte[3][];
        ByteBuffer stream = frames(3, new Random(2), datas);
        int frameLen = stream.limit() / 3;
        FrameDecoder decoder = new FrameDecoder();
        feedInPieces(decoder, stream, 0, 10);
        feedInPieces(decoder, stream, 10, 2 * frameLen); // two frames complete in this feed
        Frame a = decoder.next();
        Frame b = decoder.next();
        decoder.recycle(a); // b is the last streamed: handing back a must not free b's array
        feedInPieces(decoder, stream, 2 * frameLen, 3 * frameLen);
        Frame c = decoder.next();
        assertNotSame(((ExecData) b.payload()).data(), ((ExecData) c.payload()).data());
        assertArrayEquals(datas[0], ((ExecData) a.payload()).data());
        assertArrayEquals(datas[1], ((ExecData) b.payload()).data());
        assertArrayEquals(datas[2], ((ExecData) c.payload()).data());
    }
}
