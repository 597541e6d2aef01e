package io.agentd.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ExecData;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * Coverage-guided fuzz target (Jazzer) for the decoder's reuse of data arrays
 * ({@link FrameDecoder#recycle}): the path a client takes for bulk output, where a large data frame
 * is read straight into an array the consumer may hand back for the next frame of its length. The
 * byte-level target ({@link FrameDecoderFuzzTest}) almost never reaches it, since it takes a valid
 * data frame of 4 KiB or more; here the input chooses well-formed frames instead of bytes: for the
 * agent's decoder (stdin) or a client's (stdout, stderr), their ids and sizes (often equal, so that
 * arrays are reused), how the stream is cut into feeds and which frames the consumer hands back. Every run of the tests replays the checked-in corpus
 * (FrameDecoderRecycleFuzzTestInputs); scripts/fuzz fuzzes it for real (JAZZER_FUZZ=1).
 */
class FrameDecoderRecycleFuzzTest {
    private static final FrameEncoder ENCODER = new FrameEncoder();
    private static final MessageType[] CLIENT_TAKES = {MessageType.EXEC_STDOUT, MessageType.EXEC_STDERR};
    private static final MessageType[] AGENT_TAKES = {MessageType.EXEC_STDIN};
    /** Data sizes up to three times the decoder's streaming threshold (4096), below it too. */
    private static final int MAX_DATA = 3 * 4096;
    private static final int MAX_FRAMES = 24;

    /**
     * Whatever frames, cuts and hand-backs: each frame decodes equal to the one sent, as the consumer
     * sees it when it takes it; none carries an array the consumer still holds (a reused array is
     * only ever one handed back); and one the consumer kept is still equal at the end. That arrays
     * are reused at all is DataArrayRecycleTest's.
     */
    @FuzzTest(maxDuration = "60s")
    void handedBackArraysOnlyServeLaterFrames(FuzzedDataProvider in) throws ProtocolException {
        // The agent's decoder (stdin from a host; it recycles every frame it handled) or a client's.
        boolean agentSide = in.consumeBoolean();
        List<Frame> sent = frames(in, agentSide ? AGENT_TAKES : CLIENT_TAKES);
        byte[] stream = encode(sent);
        FrameDecoder decoder = agentSide ? FrameDecoder.forAgent() : new FrameDecoder();
        List<Frame> kept = new ArrayList<>();
        List<Frame> keptSent = new ArrayList<>();
        Set<byte[]> keptArrays = Collections.newSetFromMap(new IdentityHashMap<>());
        int taken = 0;
        int at = 0;
        while (at < stream.length) {
            // Once the input is spent every choice would be its minimum: the rest in one byte at a
            // time, none handed back. The rest goes in whole instead.
            int n = in.remainingBytes() == 0 ? stream.length - at
                    : Math.min(stream.length - at, in.consumeInt(1, 2 * MAX_DATA));
            decoder.feed(in.consumeBoolean()
                    ? ByteBuffer.wrap(stream, at, n).slice()
                    : ByteBuffer.allocateDirect(n).put(stream, at, n).flip());
            at += n;
            Frame frame;
            while ((frame = decoder.next()) != null) {
                Frame expected = sent.get(taken++);
                assertEquals(expected, frame, "frame " + (taken - 1) + " as the consumer takes it");
                byte[] data = frame.payload() instanceof ExecData d && d.data().length > 0 ? d.data() : null;
                assertFalse(data != null && keptArrays.contains(data),
                        "frame " + (taken - 1) + " carries the array of a frame the consumer kept");
                if (in.consumeBoolean()) {
                    decoder.recycle(frame);
                } else {
                    kept.add(frame);
                    keptSent.add(expected);
                    if (data != null) {
                        keptArrays.add(data);
                    }
                }
            }
        }
        assertEquals(sent.size(), taken, "frames decoded");
        assertNull(decoder.unfinishedFrame());
        for (int i = 0; i < kept.size(); i++) {
            assertEquals(keptSent.get(i), kept.get(i), "a frame kept by the consumer changed after it was taken");
        }
    }

    /** Up to MAX_FRAMES data frames of {@code dataTypes}, mostly of a few repeated sizes, a ping now and then between them. */
    private static List<Frame> frames(FuzzedDataProvider in, MessageType[] dataTypes) {
        int[] sizes = {in.consumeInt(0, MAX_DATA), in.consumeInt(0, MAX_DATA), in.consumeInt(0, MAX_DATA)};
        int count = in.consumeInt(1, MAX_FRAMES);
        List<Frame> frames = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            long id = in.consumeInt(1, 1 << 20);
            int choice = in.consumeInt(0, 7);
            if (choice == 7) {
                frames.add(new Frame(id, MessageType.CORE_PING, Empty.INSTANCE));
                continue;
            }
            int size = choice < 6 ? sizes[choice % 3] : in.consumeInt(0, MAX_DATA);
            byte[] data = new byte[size];
            byte fill = in.consumeByte();
            for (int j = 0; j < size; j++) {
                // The first byte is the frame's index: frames of one size and fill still differ, so a
                // frame that shows another's bytes (an array reused too early) fails the comparison.
                data[j] = j == 0 ? (byte) i : (byte) (fill + j * 31);
            }
            frames.add(new Frame(id, dataTypes[choice % dataTypes.length], new ExecData(data)));
        }
        return frames;
    }

    private static byte[] encode(List<Frame> frames) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Frame f : frames) {
            out.writeBytes(ENCODER.encode(f));
        }
        return out.toByteArray();
    }
}
