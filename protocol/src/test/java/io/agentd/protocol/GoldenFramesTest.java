package io.agentd.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Every entry of frames.json, each as its own test; an entry this test cannot check fails it. */
class GoldenFramesTest {
    private static final Set<String> EXPECTATIONS = Set.of("valid", "decodes", "error");

    @TestFactory
    Stream<DynamicTest> everyGoldenFrame() {
        return Fixtures.frames().stream().map(f -> DynamicTest.dynamicTest(
                f.get("expect").asText() + ": " + f.get("name").asText(), () -> check(f)));
    }

    @Test
    void fixtureFileHasOnlyKnownExpectationsAndAllThree() {
        Map<String, Integer> counts = new TreeMap<>();
        for (JsonNode f : Fixtures.frames()) {
            counts.merge(f.get("expect").asText(), 1, Integer::sum);
        }
        assertEquals(EXPECTATIONS, counts.keySet(), "expectations in frames.json: " + counts);
        assertEquals(Fixtures.frames().size(), counts.values().stream().mapToInt(Integer::intValue).sum());
    }

    /** Checks one fixture entry as its {@code expect} says (shared with the extension frames' test). */
    static void check(JsonNode f) throws ProtocolException {
        switch (f.get("expect").asText()) {
            case "valid" -> {
                Frame frame = decodesTo(f);
                byte[] golden = Fixtures.bytes(f);
                FrameEncoder encoder = new FrameEncoder();
                assertEquals(HexFormat.of().formatHex(golden), HexFormat.of().formatHex(encoder.encode(frame)));
                assertEquals(golden.length, encoder.encodedSize(frame));
                // The same bytes through encodeInto, at an offset inside a larger buffer.
                ByteBuffer out = ByteBuffer.allocate(golden.length + 10).position(3);
                assertEquals(golden.length, encoder.encodeInto(frame, out));
                assertArrayEquals(golden, Arrays.copyOfRange(out.array(), 3, 3 + golden.length));
            }
            case "decodes" -> decodesTo(f);
            case "error" -> refusedWithKind(f);
            default -> fail("unknown expect '" + f.get("expect").asText() + "' in " + f.get("name").asText());
        }
    }

    /** Decodes the fixture's bytes alone in a stream and checks every field it gives. */
    private static Frame decodesTo(JsonNode f) throws ProtocolException {
        byte[] bytes = Fixtures.bytes(f);
        FrameDecoder decoder = new FrameDecoder();
        decoder.feed(bytes, 0, bytes.length);
        Frame frame = decoder.next();
        assertNotNull(frame, "no frame decoded");
        assertNull(decoder.next(), "more than one frame decoded");
        assertEquals(0, decoder.buffered());

        assertEquals(f.get("type").asText(), frame.type().wire());
        assertEquals(f.get("id").asLong(), frame.id());
        assertEquals(f.get("flags").asInt(), frame.flags());
        assertEquals(f.get("flags").asInt(), bytes[8] & 0xff, "flags byte on the wire");
        assertEquals(Fixtures.expectedFrame(f), frame);
        return frame;
    }

    /**
     * The fixture is refused with its kind, and the stream stays in step: the valid frame right after
     * it, in the same chunk, still decodes. Where its length prefix is refused, "after it" means after
     * the length it declares, which the decoder skips unread: a frame inside that span is not decoded.
     */
    private static void refusedWithKind(JsonNode f) throws ProtocolException {
        ErrorKind kind = Arrays.stream(ErrorKind.values()).filter(k -> k.wire().equals(f.get("error").asText()))
                .findFirst().orElseThrow(() -> new AssertionError("unknown error kind " + f.get("error")));
        byte[] bad = Fixtures.bytes(f);
        JsonNode goodFixture = Fixtures.named("exec_started");
        byte[] good = Fixtures.bytes(goodFixture);
        Frame goodFrame = Fixtures.expectedFrame(goodFixture);

        int rest = 0;
        if (kind.losesStream()) {
            long declared = Integer.toUnsignedLong(ByteBuffer.wrap(bad).getInt());
            rest = Math.toIntExact(declared - (bad.length - Protocol.LENGTH_BYTES));
        }
        ByteBuffer stream = ByteBuffer.allocate(bad.length + rest + good.length).put(bad);
        if (rest >= good.length) {
            stream.put(good); // inside the refused frame
        }
        stream.position(bad.length + rest).put(good).flip();

        FrameDecoder decoder = new FrameDecoder();
        decoder.feed(stream);
        ProtocolException refused = assertThrows(ProtocolException.class, decoder::next);
        assertEquals(kind, refused.kind(), refused.getMessage());
        if (kind.losesStream()) {
            assertTrue(!refused.hasId());
        } else {
            assertEquals(Fixtures.headerId(bad), refused.id(), "refusal carries the frame's id");
        }
        assertEquals(goodFrame, decoder.next(), "the frame after the refused one");
        assertNull(decoder.next());
        assertEquals(0, decoder.buffered());
    }
}
