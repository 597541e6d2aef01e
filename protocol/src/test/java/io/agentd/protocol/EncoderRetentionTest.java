package io.agentd.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.ExecRequest;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * An encoder keeps no more than {@link CborWriter#RETAINED_BYTES} of payload buffer once a large
 * frame is out, whichever method encoded it: each of the agent's connections has an encoder, and
 * one that kept the 4 MiB a session list grew it to held that for as long as the connection lived
 * (64 such connections filled the agent's heap and ended it).
 */
class EncoderRetentionTest {
    /** An exec request of about 2 MiB: 512 arguments of 4 KiB. */
    private static Frame large() {
        List<String> args = new ArrayList<>();
        for (int i = 0; i < 512; i++) {
            args.add("a".repeat(4096));
        }
        return new Frame(7, MessageType.EXEC_REQUEST, new ExecRequest("/bin/true", args, List.of(), null, null,
                false, ExecRequest.DEFAULT_ROWS, ExecRequest.DEFAULT_COLS, List.of(), null));
    }

    @Test
    void everyWayOfEncodingALargeFrameLetsItsBufferGo() {
        FrameEncoder encoder = new FrameEncoder();
        Frame frame = large();
        byte[] whole = encoder.encode(frame);
        assertTrue(whole.length > 2 << 20, "a large frame: " + whole.length);
        assertTrue(encoder.retainedBytes() <= CborWriter.RETAINED_BYTES, "after encode: " + encoder.retainedBytes());

        assertEquals(whole.length, encoder.encodedSize(frame));
        assertTrue(encoder.retainedBytes() <= CborWriter.RETAINED_BYTES, "after encodedSize: " + encoder.retainedBytes());

        ByteBuffer out = ByteBuffer.allocate(whole.length);
        assertEquals(whole.length, encoder.encodeInto(frame, out));
        assertArrayEquals(whole, out.array());
        assertTrue(encoder.retainedBytes() <= CborWriter.RETAINED_BYTES, "after encodeInto: " + encoder.retainedBytes());

        int[] asked = new int[1];
        ByteBuffer room = ByteBuffer.allocate(whole.length + 10);
        int n = encoder.encodeInto(frame, size -> {
            asked[0] = size;
            return room;
        });
        assertEquals(whole.length, n);
        assertEquals(whole.length, asked[0], "room asked for the frame's size");
        assertArrayEquals(whole, java.util.Arrays.copyOf(room.array(), n));
        assertTrue(encoder.retainedBytes() <= CborWriter.RETAINED_BYTES,
                "after encodeInto(roomFor): " + encoder.retainedBytes());
    }

    @Test
    void aSmallFramesBufferIsKept() {
        FrameEncoder encoder = new FrameEncoder();
        Frame small = new Frame(7, MessageType.EXEC_REQUEST, new ExecRequest("/bin/true", List.of("x".repeat(20_000)),
                List.of(), null, null, false, ExecRequest.DEFAULT_ROWS, ExecRequest.DEFAULT_COLS, List.of(), null));
        encoder.encode(small);
        assertTrue(encoder.retainedBytes() >= 20_000, "grown for a small frame and kept: " + encoder.retainedBytes());
    }
}
