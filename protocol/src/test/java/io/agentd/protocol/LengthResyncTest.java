package io.agentd.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.ExecRequest;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * After a length prefix it refuses, the decoder skips exactly the declared length, however the bytes
 * are split, and resumes at the frame after it: a frame hidden inside a refused one never decodes.
 */
class LengthResyncTest {
    private static final FrameEncoder ENCODER = new FrameEncoder();
    private static final byte[] HIDDEN = ENCODER.encode(new Frame(666, MessageType.EXEC_REQUEST,
            ExecRequest.of("/bin/sh", "-c", "echo hidden")));
    private static final Frame AFTER = new Frame(777, MessageType.EXEC_REQUEST, ExecRequest.of("/bin/echo", "after"));

    /** A frame declaring 4 MiB + 1, its whole body valid exec.request frames back to back, then AFTER. */
    private static byte[] oversizedThenValid() {
        int declared = Protocol.MAX_FRAME_LEN + 1;
        ByteBuffer stream = ByteBuffer.allocate(Protocol.LENGTH_BYTES + declared + ENCODER.encode(AFTER).length);
        stream.putInt(declared);
        while (stream.position() + HIDDEN.length <= Protocol.LENGTH_BYTES + declared) {
            stream.put(HIDDEN);
        }
        stream.position(Protocol.LENGTH_BYTES + declared);
        stream.put(ENCODER.encode(AFTER));
        return stream.array();
    }

    /**
     * Zeros (every 4 bytes a length of 0) are one refusal per run, not one per 4 bytes: a 4 MiB read
     * of them queued a million refusals (829 MB, a read-only review measured), and a guest or host
     * sending them could make its peer run out of memory. A frame after the run still decodes.
     */
    @Test
    void aRunOfRefusedLengthsIsOneRefusalAndTheFrameAfterItDecodes() {
        FrameDecoder decoder = new FrameDecoder();
        byte[] zeros = new byte[Protocol.MAX_FRAME_LEN];
        decoder.feed(zeros, 0, zeros.length);
        decoder.feed(zeros, 0, 4096);
        byte[] after = ENCODER.encode(AFTER);
        decoder.feed(after, 0, after.length);
        assertEquals(List.of(refused(ErrorKind.FRAME_TOO_SHORT), AFTER), drain(decoder));
        decoder.feed(zeros, 0, 64); // a new run after a frame is refused again
        assertEquals(List.of(refused(ErrorKind.FRAME_TOO_SHORT)), drain(decoder));
    }

    @Test
    void frameInsideARefusedOneIsNeverDecodedWhenFedInOneChunk() {
        byte[] stream = oversizedThenValid();
        FrameDecoder decoder = new FrameDecoder();
        decoder.feed(stream, 0, stream.length);
        assertEquals(List.of(refused(ErrorKind.FRAME_TOO_LARGE), AFTER), drain(decoder));
        assertEquals(0, decoder.bufferCapacity(), "nothing of the refused frame was buffered");
    }

    @Test
    void frameInsideARefusedOneIsNeverDecodedWhenFedInSmallPieces() {
        byte[] stream = oversizedThenValid();
        Random random = new Random(7);
        FrameDecoder decoder = new FrameDecoder();
        List<Object> outcomes = new ArrayList<>();
        for (int at = 0; at < stream.length; ) {
            int n = Math.min(stream.length - at, 1 + random.nextInt(random.nextBoolean() ? 16 : 9000));
            decoder.feed(ByteBuffer.wrap(stream, at, n).slice());
            at += n;
            outcomes.addAll(drain(decoder));
            assertTrue(decoder.bufferCapacity() <= 4096 && (at > stream.length - 200 || decoder.buffered() == 0),
                    "holds " + decoder.buffered() + " at " + at);
        }
        assertEquals(List.of(refused(ErrorKind.FRAME_TOO_LARGE), AFTER), outcomes);
    }

    @Test
    void aLengthBelowTheHeaderSkipsTheBytesItDeclares() {
        byte[] after = ENCODER.encode(AFTER);
        for (int declared = 0; declared < Protocol.MIN_FRAME_LEN; declared++) {
            // The declared bytes look like the start of another length prefix: they must not be read as one.
            ByteBuffer stream = ByteBuffer.allocate(4 + declared + after.length).putInt(declared);
            for (int i = 0; i < declared; i++) {
                stream.put((byte) 0x7f);
            }
            stream.put(after);
            FrameDecoder decoder = new FrameDecoder();
            decoder.feed(stream.array(), 0, stream.capacity());
            assertEquals(List.of(refused(ErrorKind.FRAME_TOO_SHORT), AFTER), drain(decoder), "declared " + declared);
        }
    }

    @Test
    void theSkipCountsDownAcrossFeedsAndResetEndsIt() {
        byte[] after = ENCODER.encode(AFTER);
        FrameDecoder decoder = new FrameDecoder(1024);
        decoder.feed(ByteBuffer.allocate(4).putInt(5000).flip());
        assertEquals(List.of(refused(ErrorKind.FRAME_TOO_LARGE)), drain(decoder));
        decoder.feed(after, 0, after.length); // inside the 5000 skipped bytes
        decoder.feed(new byte[5000 - after.length - 1], 0, 5000 - after.length - 1);
        assertEquals(List.of(), drain(decoder));
        decoder.feed(new byte[1], 0, 1); // the last skipped byte
        decoder.feed(after, 0, after.length);
        assertEquals(List.of(AFTER), drain(decoder));

        decoder.feed(ByteBuffer.allocate(4).putInt(5000).flip());
        decoder.reset(); // a new connection: nothing left to skip
        decoder.feed(after, 0, after.length);
        assertEquals(List.of(AFTER), drain(decoder));
    }

    private static List<Object> drain(FrameDecoder decoder) {
        return Outcomes.drain(decoder);
    }

    private static String refused(ErrorKind kind) {
        return Outcomes.refused(kind, ProtocolException.NO_ID);
    }
}
