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
     * Whatever the bytes and however they are cut: the decoder (the client's, or the agent's when
     * the first byte is odd) yields frames or ProtocolExceptions (anything else thrown fails the
     * target), never holds more than one frame's worth, queues at most one result per 5 bytes fed
     * (plus what an earlier feed began: a run of refused lengths is one refusal, where zeros made
     * one per 4 bytes), and every frame it yields re-encodes to bytes that decode to an equal frame.
     */
    @FuzzTest(maxDuration = "60s")
    void anyBytesInAnySplit(byte[] input) throws ProtocolException {
        if (input.length == 0) {
            return;
        }
        int split = input[0] & 0xff;
        FrameDecoder decoder = (split & 1) == 1 ? FrameDecoder.forAgent() : new FrameDecoder();
        List<Frame> frames = new ArrayList<>();
        Random pieces = new Random(split);
        int at = 1;
        while (at < input.length) {
            int n = split == 0 ? input.length - at : Math.min(input.length - at, 1 + pieces.nextInt(split));
            decoder.feed(chunk(input, at, n, pieces.nextInt(3)));
            at += n;
            int results = drain(decoder, frames);
            assertTrue(results <= n / 5 + 2, results + " results from " + n + " bytes");
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

    /** Takes every queued result; returns how many there were. */
    private static int drain(FrameDecoder decoder, List<Frame> frames) {
        int results = 0;
        while (true) {
            try {
                Frame frame = decoder.next();
                if (frame == null) {
                    return results;
                }
                frames.add(frame);
            } catch (ProtocolException refused) {
                RefusalChecks.check(refused); // otherwise an outcome like a frame
            }
            results++;
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
