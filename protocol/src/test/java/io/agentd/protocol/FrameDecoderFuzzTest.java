package io.agentd.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Coverage-guided fuzz target (Jazzer) for the frame decoder. Every run of the tests replays the
 * checked-in corpus (FrameDecoderFuzzTestInputs); scripts/fuzz fuzzes it for real (JAZZER_FUZZ=1).
 *
 * <p>Input layout: the first byte chooses how the rest is cut into feeds (0: one chunk; otherwise
 * pieces of random sizes from a generator seeded with it), the rest is the byte stream.
 */
class FrameDecoderFuzzTest {
    private static final FrameEncoder ENCODER = new FrameEncoder();

    /**
     * Whatever the bytes and however they are cut: the decoder yields frames or ProtocolExceptions
     * (anything else thrown fails the target), never holds more than one frame's worth, and every
     * frame it yields re-encodes to bytes that decode to an equal frame.
     */
    @FuzzTest(maxDuration = "60s")
    void anyBytesInAnySplit(byte[] input) throws ProtocolException {
        if (input.length == 0) {
            return;
        }
        FrameDecoder decoder = new FrameDecoder();
        List<Frame> frames = new ArrayList<>();
        int split = input[0] & 0xff;
        Random pieces = new Random(split);
        int at = 1;
        while (at < input.length) {
            int n = split == 0 ? input.length - at : Math.min(input.length - at, 1 + pieces.nextInt(split));
            decoder.feed(chunk(input, at, n, pieces.nextInt(3)));
            at += n;
            drain(decoder, frames);
            assertTrue(decoder.buffered() <= decoder.maxFrameLen(), "holds " + decoder.buffered());
            assertTrue(decoder.bufferCapacity() <= decoder.maxFrameLen(), "buffer " + decoder.bufferCapacity());
            assertTrue(decoder.buffered() <= at, "holds more than it was fed");
        }
        for (Frame frame : frames) {
            assertEquals(frame, roundTrip(frame));
        }
    }

    private static ByteBuffer chunk(byte[] input, int at, int n, int kind) {
        return switch (kind) {
            case 0 -> ByteBuffer.wrap(input, at, n).slice();
            case 1 -> ByteBuffer.allocateDirect(n).put(input, at, n).flip();
            default -> ByteBuffer.wrap(input, at, n).slice().asReadOnlyBuffer();
        };
    }

    private static void drain(FrameDecoder decoder, List<Frame> frames) {
        while (true) {
            try {
                Frame frame = decoder.next();
                if (frame == null) {
                    return;
                }
                frames.add(frame);
            } catch (ProtocolException refused) {
                RefusalChecks.check(refused); // otherwise an outcome like a frame
            }
        }
    }

    private static Frame roundTrip(Frame frame) throws ProtocolException {
        byte[] bytes = ENCODER.encode(frame);
        FrameDecoder decoder = new FrameDecoder();
        decoder.feed(bytes, 0, bytes.length);
        Frame again = decoder.next();
        assertNull(decoder.next());
        return again;
    }
}
