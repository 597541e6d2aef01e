package io.agentd.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecRequest;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The decoder yields the same frames and refusals however the stream is cut: whole, one byte at a
 * time, or in random pieces, through heap, direct and read-only buffers.
 */
@Timeout(120)
class StreamSplitTest {
    /**
     * Every golden frame that keeps the stream in step, then frames larger than the decoder's first
     * buffer (data frames, whose data the decoder reads straight into its own array, and a large
     * request, which it must not), then a refused length and a frame after it.
     */
    private static byte[] stream;
    /** What each of those gives, in order: the Frame, or "refused <kind> <id>". */
    private static List<Object> expected;

    @BeforeAll
    static void buildStream() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        expected = new ArrayList<>();
        for (JsonNode f : Fixtures.frames()) {
            byte[] bytes = Fixtures.bytes(f);
            switch (f.get("expect").asText()) {
                case "valid", "decodes" -> {
                    out.writeBytes(bytes);
                    expected.add(Fixtures.expectedFrame(f));
                }
                case "error" -> {
                    if (!f.get("name").asText().startsWith("frame_too_")) {
                        out.writeBytes(bytes);
                        expected.add("refused " + f.get("error").asText() + " " + Fixtures.headerId(bytes));
                    }
                }
                default -> throw new AssertionError("unknown expect in " + f);
            }
        }
        FrameEncoder encoder = new FrameEncoder();
        for (int size : new int[] {100_000, 5_000}) {
            byte[] data = new byte[size];
            new Random(size).nextBytes(data);
            Frame big = new Frame(77, MessageType.EXEC_STDOUT, new ExecData(data));
            out.writeBytes(encoder.encode(big));
            expected.add(big);
        }
        Frame largeStderr = new Frame(78, MessageType.EXEC_STDERR, new ExecData(new byte[4096]));
        out.writeBytes(encoder.encode(largeStderr));
        expected.add(largeStderr);
        Frame largeRequest = new Frame(79, MessageType.EXEC_REQUEST, ExecRequest.of("/bin/echo", "x".repeat(6000)));
        out.writeBytes(encoder.encode(largeRequest));
        expected.add(largeRequest);
        // A refused length: the decoder skips the 3 bytes it declares, and the ping after them decodes.
        out.writeBytes(Fixtures.bytes(Fixtures.named("frame_too_short")));
        expected.add("refused frame_too_short " + ProtocolException.NO_ID);
        out.writeBytes(Fixtures.bytes(Fixtures.named("ping")));
        expected.add(Fixtures.expectedFrame(Fixtures.named("ping")));
        stream = out.toByteArray();
    }

    @Test
    void wholeStreamInOneChunkGivesEachFrameItsOutcome() {
        FrameDecoder decoder = new FrameDecoder();
        List<Object> outcomes = new ArrayList<>();
        decoder.feed(ByteBuffer.wrap(stream));
        drain(decoder, outcomes);
        assertEquals(expected, outcomes);
        assertEquals(0, decoder.buffered());
    }

    @Test
    void oneByteAtATimeGivesTheSameOutcomes() {
        FrameDecoder decoder = new FrameDecoder();
        List<Object> outcomes = new ArrayList<>();
        for (int i = 0; i < stream.length; i++) {
            decoder.feed(stream, i, 1);
            drain(decoder, outcomes);
            assertTrue(decoder.buffered() <= Protocol.MAX_FRAME_LEN);
        }
        assertEquals(expected, outcomes);
    }

    @Test
    void randomSplitsThroughHeapDirectAndReadOnlyBuffersGiveTheSameOutcomes() {
        Random random = new Random(0x5eed);
        for (int round = 0; round < 300; round++) {
            FrameDecoder decoder = new FrameDecoder();
            List<Object> outcomes = new ArrayList<>();
            int at = 0;
            while (at < stream.length) {
                int n = Math.min(stream.length - at, random.nextInt(4) == 0 ? 1 + random.nextInt(150_000)
                        : 1 + random.nextInt(64));
                decoder.feed(chunk(Arrays.copyOfRange(stream, at, at + n), random.nextInt(3)));
                at += n;
                if (random.nextInt(3) != 0) {
                    drain(decoder, outcomes); // sometimes let results queue up over several feeds
                }
            }
            drain(decoder, outcomes);
            assertEquals(expected, outcomes, "round " + round);
        }
    }

    private static ByteBuffer chunk(byte[] bytes, int kind) {
        return switch (kind) {
            case 0 -> ByteBuffer.wrap(bytes);
            case 1 -> ByteBuffer.allocateDirect(bytes.length).put(bytes).flip();
            default -> ByteBuffer.wrap(bytes).asReadOnlyBuffer();
        };
    }

    private static void drain(FrameDecoder decoder, List<Object> outcomes) {
        outcomes.addAll(Outcomes.drain(decoder));
    }

    /** What an end of input would cut, at each byte of one data frame: the length, then the frame. */
    @Test
    void aFrameCutShortSaysHowMuchOfItCame() {
        byte[] frame = new FrameEncoder().encode(new Frame(9, MessageType.EXEC_STDIN, new ExecData(new byte[10_000])));
        int afterLength = frame.length - Protocol.LENGTH_BYTES;
        FrameDecoder decoder = new FrameDecoder();
        assertEquals(null, decoder.unfinishedFrame(), "nothing yet");
        for (int i = 1; i < frame.length; i++) {
            decoder.feed(frame, i - 1, 1);
            String expected = i < Protocol.LENGTH_BYTES
                    ? "a frame cut short in its length (" + i + " of 4 bytes)"
                    : "a frame cut short (" + (i - Protocol.LENGTH_BYTES) + " of its " + afterLength
                            + " bytes after the length came)";
            assertEquals(expected, decoder.unfinishedFrame());
        }
        decoder.feed(frame, frame.length - 1, 1);
        assertEquals(null, decoder.unfinishedFrame(), "whole: at a boundary again");
    }
}
