package io.agentd.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ExecSignal;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.Touched;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What the decoder refuses beyond the golden frames, and how: each refusal is typed, carries the
 * frame's id and type where they were read, and names the offending field.
 */
class DecoderRefusalTest {
    private static final long ID = 42;

    // ---- values of the wrong type or out of range inside payloads: invalid_payload naming the field

    @Test
    void signalAsTextIsInvalidPayloadNamingSignal() {
        invalidPayload(MessageType.EXEC_SIGNAL, new RawCbor().map(1).text("signal").text("TERM"), "signal");
    }

    @Test
    void resizeRowsAboveU16IsInvalidPayloadNamingRows() {
        invalidPayload(MessageType.EXEC_RESIZE,
                new RawCbor().map(2).text("rows").uint(70000).text("cols").uint(80), "rows");
    }

    @Test
    void requestColsAboveU16IsInvalidPayloadNamingCols() {
        invalidPayload(MessageType.EXEC_REQUEST,
                new RawCbor().map(2).text("cmd").text("/bin/true").text("cols").uint(65536), "cols");
    }

    @Test
    void negativePidIsInvalidPayloadNamingPid() {
        invalidPayload(MessageType.EXEC_STARTED, new RawCbor().map(1).text("pid").integer(-1), "pid");
    }

    @Test
    void pidAboveU32IsInvalidPayloadNamingPid() {
        invalidPayload(MessageType.EXEC_STARTED, new RawCbor().map(1).text("pid").uint(1L << 32), "pid");
    }

    @Test
    void exitCodeBeyondI32IsInvalidPayloadNamingCode() {
        invalidPayload(MessageType.EXEC_EXITED, new RawCbor().map(1).text("code").uint(1L << 31), "code");
        invalidPayload(MessageType.EXEC_EXITED, new RawCbor().map(1).text("code").raw(0x3b).raw(
                new byte[] {(byte) 0xff, -1, -1, -1, -1, -1, -1, -1}), "code");
    }

    @Test
    void negativeU64IsInvalidPayloadNamingTheField() {
        invalidPayload(MessageType.CORE_TOUCHED, new RawCbor().map(1).text("activity_seq").integer(-1),
                "activity_seq");
    }

    @Test
    void plainU64Max2To64Minus1IsAcceptedAndAboveIsRefused() throws ProtocolException {
        Frame frame = decodeOne(RawCbor.frame(ID, MessageType.CORE_TOUCHED,
                new RawCbor().map(1).text("activity_seq").uint(-1L).build()));
        assertEquals(new Touched(-1L), frame.payload());
        // 2^64 only exists as a bignum tag, which is refused below.
    }

    /** Jackson 2.18 decodes bignum tags with the wrong sign; the codec refuses tagged integers rather than misread them. */
    @Test
    void taggedIntegersAreRefusedNotMisread() {
        byte[] ffs = {-1, -1, -1, -1, -1, -1, -1, -1};
        invalidPayload(MessageType.CORE_TOUCHED, new RawCbor().map(1).text("activity_seq").raw(0xc2).bytes(ffs),
                "activity_seq: expected u64, got a tagged value");
        invalidPayload(MessageType.CORE_TOUCHED, new RawCbor().map(1).text("activity_seq").raw(0xc3)
                .bytes(new byte[8]), "activity_seq");
        invalidPayload(MessageType.EXEC_SIGNAL, new RawCbor().map(1).text("signal").raw(0xc1).uint(9), "signal");
        byte[] p = {(byte) 0xa0};
        malformed(new RawCbor().map(3).text("v").raw(0xc2).bytes(new byte[] {7}).text("t").text("core.ping")
                .text("p").bytes(p).build());
        malformed(new RawCbor().map(3).text("v").raw(0xf0).text("t").text("core.ping").text("p").bytes(p).build());
    }

    @Test
    void simpleValueOrFloatWhereAnIntegerBelongsIsRefused() {
        invalidPayload(MessageType.EXEC_SIGNAL, new RawCbor().map(1).text("signal").raw(0xf0), "signal");
        invalidPayload(MessageType.EXEC_SIGNAL, new RawCbor().map(1).text("signal").raw(0xf9, 0x4b, 0x80), "signal");
    }

    @Test
    void dataAsTextIsInvalidPayloadNamingData() {
        invalidPayload(MessageType.EXEC_STDIN, new RawCbor().map(1).text("data").text("hello"), "data");
    }

    @Test
    void nonTextArgIsInvalidPayloadNamingItsIndex() {
        invalidPayload(MessageType.EXEC_REQUEST, new RawCbor().map(2).text("cmd").text("/bin/echo")
                .text("args").array(2).text("a").uint(1), "args[1]");
    }

    @Test
    void rlimitMissingHardIsInvalidPayloadNamingIt() {
        invalidPayload(MessageType.EXEC_REQUEST, new RawCbor().map(2).text("cmd").text("/bin/true")
                .text("rlimits").array(1).map(2).text("resource").text("nofile").text("soft").uint(10),
                "rlimits[0].hard");
    }

    @Test
    void invalidUtf8InCmdIsInvalidPayload() {
        invalidPayload(MessageType.EXEC_REQUEST, new RawCbor().map(1).text("cmd").raw(0x62, 0xc3, 0x28), "cmd");
    }

    /** Jackson 2.18 alone would read c0 af as "/": the codec checks the raw bytes. */
    @Test
    void overlongSlashSurrogateOrBadChunkInTextIsRefusedNotReinterpreted() {
        invalidPayload(MessageType.EXEC_REQUEST, new RawCbor().map(1).text("cmd").raw(0x67, '/', 'b', 'i', 'n', 0xc0,
                0xaf, 's').raw('h'), "cmd: text is not valid UTF-8");
        invalidPayload(MessageType.EXEC_REQUEST, new RawCbor().map(2).text("cmd").text("/bin/echo").text("args")
                .array(1).raw(0x63, 0xed, 0xa0, 0x80), "args[0]: text is not valid UTF-8");
        invalidPayload(MessageType.EXEC_REQUEST, new RawCbor().map(2).text("cmd").text("/bin/true").text("cwd")
                .raw(0x7f).text("/tmp").raw(0x62, 0xc0, 0xaf).raw(0xff), "cwd: text is not valid UTF-8");
        invalidPayload(MessageType.EXEC_SIGNAL, new RawCbor().map(2).text("signal").uint(9).raw(0x62, 0xc0, 0xaf)
                .uint(1), "key is not valid UTF-8");
        malformed(new RawCbor().map(3).text("v").uint(7).text("t").raw(0x69, 'c', 'o', 'r', 'e', '.', 'p', 'i', 0xee,
                'g').text("p").bytes(new byte[] {(byte) 0xa0}).build());
    }

    /**
     * A text chunk whose length head claims 2^63-9 bytes: its end, computed as start + length, wrapped
     * past Long.MAX_VALUE and passed the bounds check, and the chunk loop went back to the same chunk
     * for ever, on the loop thread that serves every host. Refused now, in every text field, whether
     * the text is one chunk or several.
     */
    @Test
    void aTextLengthThatOverflowsPastTheInputIsRefusedNotLoopedOn() {
        int[] claim = {0x7b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf7}; // text of 2^63-9 bytes
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            invalidPayload(MessageType.EXEC_REQUEST, new RawCbor().map(1).text("cmd").raw(0x7f).raw(claim).raw(0xff),
                    "cmd");
            invalidPayload(MessageType.EXEC_REQUEST, new RawCbor().map(1).text("cmd").raw(claim).raw('A'), "cmd");
            invalidPayload(MessageType.EXEC_REQUEST, new RawCbor().map(2).text("cmd").text("/bin/true").text("args")
                    .array(1).raw(0x7f).text("a").raw(claim).raw(0xff), "args[0]");
            invalidPayload(MessageType.FS_REQUEST, new RawCbor().map(1).text("op").map(1).text("Stat").map(1)
                    .text("path").raw(0x7f).raw(claim).raw(0xff), "path");
        });
    }

    /**
     * Jackson 2.18 copies its list of an item's tags whole at every 8 it adds: a 1 MiB run of tags
     * on an unknown key's value took it minutes before (quadratic), and the value was then skipped
     * as accepted. CborShape refuses a second tag on an item before Jackson reads the payload; one
     * tag still passes on an unknown key (unknownKeysOfAnyShapeAreSkipped).
     */
    @Test
    void aRunOfTagsOnAnItemIsRefusedBeforeJacksonReadsIt() {
        byte[] run = new byte[1 << 20];
        java.util.Arrays.fill(run, (byte) 0xc0);
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            invalidPayload(MessageType.EXEC_SIGNAL, new RawCbor().map(2).text("signal").uint(9).text("x").raw(run).uint(0),
                    "more than one CBOR tag on an item");
            invalidPayload(MessageType.EXEC_SIGNAL, new RawCbor().map(2).text("signal").uint(9).text("x")
                    .raw(0xc1, 0xd8, 0x20).uint(0), "more than one CBOR tag");
            malformed(new RawCbor().map(4).text("v").uint(7).text("t").text("core.ping").text("p")
                    .bytes(new byte[] {(byte) 0xa0}).text("x").raw(run).uint(0).build());
        });
    }

    /**
     * Jackson resolves the stringref tags (256 opens a namespace, 25 refers to an earlier string):
     * a 4-byte reference became a copy of an earlier key however long, and a reference to a key
     * inside a skipped value (never checked) passed as a known key, past the strict UTF-8 rule.
     * Refused, as are the value-sharing tags; so is a byte-string key, which Jackson read as the
     * text key it spells.
     */
    @Test
    void stringReferencesSharedValuesAndByteStringKeysAreRefused() {
        // {"x": {h'63 6d 64': 0}, 25(0): "/bin/true"} in a stringref namespace: the reference is "cmd"
        invalidPayload(MessageType.EXEC_REQUEST, new RawCbor().raw(0xd9, 0x01, 0x00).map(2).text("x").map(1)
                .bytes("cmd".getBytes(StandardCharsets.US_ASCII)).uint(0).raw(0xd8, 0x19, 0x00).text("/bin/true"),
                "CBOR tag 256");
        invalidPayload(MessageType.EXEC_REQUEST, new RawCbor().map(1).raw(0xd8, 0x19, 0x00).text("/bin/true"),
                "a map key is tagged");
        invalidPayload(MessageType.EXEC_REQUEST, new RawCbor().map(2).text("cmd").text("/bin/true").text("x")
                .raw(0xd8, 0x19, 0x00), "CBOR tag 25");
        invalidPayload(MessageType.EXEC_REQUEST, new RawCbor().map(2).text("cmd").text("/bin/true").text("x")
                .raw(0xd8, 0x1c).uint(1), "CBOR tag 28");
        invalidPayload(MessageType.EXEC_REQUEST, new RawCbor().map(1).bytes("cmd".getBytes(StandardCharsets.US_ASCII))
                .text("/bin/true"), "a map key is a byte string");
        malformed(new RawCbor().map(3).bytes("v".getBytes(StandardCharsets.US_ASCII)).uint(7).text("t").text("core.ping")
                .text("p").bytes(new byte[] {(byte) 0xa0}).build());
    }

    @Test
    void validNonAsciiTextInChunksAndIntegerKeysAreAccepted() throws ProtocolException {
        Frame frame = decodeOne(RawCbor.frame(ID, MessageType.EXEC_REQUEST, new RawCbor().map(3)
                .text("cmd").raw(0x7f).text("/bin/").text("grüße").text("\uD83D\uDE00").raw(0xff)
                .uint(1).text("an integer key is just an unknown key").text("user").text("ü").build()));
        ExecRequest request = (ExecRequest) frame.payload();
        assertEquals("/bin/grüße\uD83D\uDE00", request.cmd());
        assertEquals("ü", request.user());
    }

    @Test
    void utf8CheckAgreesWithTheJdksStrictDecoder() {
        java.util.Random random = new java.util.Random(8);
        int[] alphabet = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1,
            0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xf7, 0xf8, 0xfe, 0xff};
        for (int round = 0; round < 300_000; round++) {
            byte[] bytes = new byte[random.nextInt(7)];
            for (int i = 0; i < bytes.length; i++) {
                bytes[i] = (byte) alphabet[random.nextInt(alphabet.length)];
            }
            boolean jdk = true;
            try {
                java.nio.charset.StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes));
            } catch (java.nio.charset.CharacterCodingException e) {
                jdk = false;
            }
            assertEquals(jdk, CborText.isUtf8(bytes, 0, bytes.length), java.util.HexFormat.of().formatHex(bytes));
        }
    }

    @Test
    void missingRequiredFieldIsInvalidPayloadSayingMissingField() {
        ProtocolException e = invalidPayload(MessageType.EXEC_STARTED, new RawCbor().map(0), "pid");
        assertEquals("core.exec.started: missing field pid", e.getMessage());
        invalidPayload(MessageType.EXEC_STDOUT, new RawCbor().map(1).text("other").uint(1), "missing field data");
        invalidPayload(MessageType.CORE_ERROR, new RawCbor().map(1).text("kind").text("x"), "missing field message");
    }

    @Test
    void payloadThatIsNotAMapIsInvalidPayload() {
        invalidPayload(MessageType.EXEC_RESIZE, new RawCbor().array(2).uint(24).uint(80), "map");
        invalidPayload(MessageType.CORE_PING, new RawCbor().nul(), "map");
    }

    @Test
    void duplicateKeyInPayloadIsInvalidPayload() {
        invalidPayload(MessageType.EXEC_SIGNAL,
                new RawCbor().map(2).text("signal").uint(15).text("signal").uint(9), "duplicate key \"signal\"");
    }

    @Test
    void secondItemOrEmptyPIsInvalidPayload() {
        invalidPayload(MessageType.EXEC_SIGNAL, new RawCbor().map(1).text("signal").uint(15).uint(0), "more than one");
        invalidPayload(MessageType.EXEC_SIGNAL, new RawCbor(), "payload");
    }

    @Test
    void nestingBeyondJacksonsDepthLimitUnderAnUnknownKeyIsInvalidPayload() throws ProtocolException {
        ProtocolException e = invalidPayload(MessageType.EXEC_SIGNAL, signalWithArraysUnderAnUnknownKey(5000), "future");
        assertEquals("core.exec.signal: \"future\": arrays and maps nested deeper than 1000", e.getMessage());
        // The payload's map counts: 999 arrays in it are 1000 deep, and decode.
        invalidPayload(MessageType.EXEC_SIGNAL, signalWithArraysUnderAnUnknownKey(1000), "nested deeper than 1000");
        decodeOne(RawCbor.frame(ID, MessageType.EXEC_SIGNAL, signalWithArraysUnderAnUnknownKey(999).build()));
    }

    private static RawCbor signalWithArraysUnderAnUnknownKey(int arrays) {
        RawCbor deep = new RawCbor().map(2).text("signal").uint(15).text("future");
        for (int i = 0; i < arrays; i++) {
            deep.array(1);
        }
        return deep.uint(0);
    }

    @Test
    void nestingBeyondTheDepthLimitInTheEnvelopeIsMalformed() {
        RawCbor body = new RawCbor().map(4).text("v").uint(7).text("t").text("core.ping").text("p")
                .bytes(new byte[] {(byte) 0xa0}).text("future");
        for (int i = 0; i < 1000; i++) {
            body.array(1);
        }
        ProtocolException e = malformed(body.uint(0).build());
        assertEquals("frame body: arrays and maps nested deeper than 1000", e.getMessage());
    }

    /**
     * A map key that is neither text nor an integer (Jackson reads no other) is refused naming its
     * CBOR type and the map, not in Jackson's words ("Unsupported major type (7) for CBOR Objects").
     */
    @Test
    void aMapKeyOfAnotherTypeIsRefusedNamingItsType() {
        int[][] keys = {{0xf9, 0x3c, 0x00}, {0xfb, 0, 0, 0, 0, 0, 0, 0, 0}, {0xf5}, {0xf4}, {0xf6}, {0xf7}, {0xe0},
            {0x80}, {0xa0}};
        String[] named = {"a float", "a float", "a bool", "a bool", "null", "undefined", "a simple value", "an array",
            "a map"};
        for (int i = 0; i < keys.length; i++) {
            String words = "a map key is " + named[i] + ", not text or an integer";
            ProtocolException top = invalidPayload(MessageType.EXEC_REQUEST,
                    new RawCbor().map(2).text("cmd").text("/bin/true").raw(keys[i]).uint(1), words);
            assertEquals("core.exec.request: payload: " + words, top.getMessage());
            ProtocolException nested = invalidPayload(MessageType.EXEC_REQUEST, new RawCbor().map(1).text("rlimits")
                    .array(1).map(1).raw(keys[i]).uint(1), words);
            assertEquals("core.exec.request: rlimits[0]: " + words, nested.getMessage());
            ProtocolException skipped = invalidPayload(MessageType.EXEC_REQUEST, new RawCbor().map(2).text("cmd")
                    .text("/bin/true").text("future").map(1).raw(keys[i]).uint(1), words);
            assertEquals("core.exec.request: \"future\": " + words, skipped.getMessage());
            ProtocolException envelope = malformed(new RawCbor().map(4).text("v").uint(7).text("t").text("core.ping")
                    .text("p").bytes(new byte[] {(byte) 0xa0}).raw(keys[i]).uint(1).build());
            assertEquals("frame body: " + words, envelope.getMessage());
        }
    }

    // ---- cost: a frame of keys the decoder does not know costs it a bounded multiple of its length

    @Test
    void envelopeOfDistinctUnknownKeysDecodesWithinAnAllocationBudget() throws ProtocolException {
        int keys = unknownKeysThatFit(FLOOD_ROOM);
        RawCbor body = new RawCbor().map(keys + 3).text("v").uint(Protocol.GENERATION).text("t").text("core.ping")
                .text("p").bytes(new byte[] {(byte) 0xa0});
        byte[] frame = RawCbor.frame(ID, 0, unknownKeys(body, keys).build());
        assertEquals(MessageType.CORE_PING, decodeWithinAllocationBudget(frame).type());
    }

    @Test
    void payloadOfDistinctUnknownKeysDecodesWithinAnAllocationBudget() throws ProtocolException {
        int keys = unknownKeysThatFit(FLOOD_ROOM);
        byte[] frame = RawCbor.frame(ID, MessageType.CORE_PING, unknownKeys(new RawCbor().map(keys), keys).build());
        assertEquals(Empty.INSTANCE, decodeWithinAllocationBudget(frame).payload());
    }

    @Test
    void nestedMapOfDistinctUnknownKeysDecodesWithinAnAllocationBudget() throws ProtocolException {
        int keys = unknownKeysThatFit(FLOOD_ROOM);
        RawCbor p = new RawCbor().map(1).text("op").map(1).text("Stat").map(keys + 1).text("path").text("/");
        byte[] frame = RawCbor.frame(ID, MessageType.FS_REQUEST, unknownKeys(p, keys).build());
        assertEquals(new FsRequest(new FsOp.Stat("/", false), null, false), decodeWithinAllocationBudget(frame).payload());
    }

    @Test
    void aRepeatedUnknownKeyIsSkippedAndARepeatedKnownOneRefused() throws ProtocolException {
        Frame frame = decodeOne(RawCbor.frame(ID, MessageType.EXEC_SIGNAL, new RawCbor().map(3)
                .text("x").uint(1).text("signal").uint(15).text("x").text("again").build()));
        assertEquals(new ExecSignal(15), frame.payload());
        invalidPayload(MessageType.FS_REQUEST, new RawCbor().map(1).text("op").map(1).text("Stat").map(3)
                .text("path").text("/").text("x").uint(1).text("path").text("/etc"), "op.Stat: duplicate key \"path\"");
    }

    // ---- tolerance: what must decode

    @Test
    void nullForDefaultedRequestFieldsTakesTheDefaults() throws ProtocolException {
        Frame frame = decodeOne(RawCbor.frame(ID, MessageType.EXEC_REQUEST, new RawCbor().map(6)
                .text("cmd").text("/bin/true").text("args").nul().text("tty").nul().text("rows").nul()
                .text("rlimits").nul().text("timeout_ms").nul().build()));
        assertEquals(ExecRequest.of("/bin/true"), frame.payload());
    }

    /** CBOR undefined (0xf7) is read as null (Jackson makes no difference): a default, or refused where null is. */
    @Test
    void undefinedIsReadAsNull() throws ProtocolException {
        Frame frame = decodeOne(RawCbor.frame(ID, MessageType.EXEC_REQUEST, new RawCbor().map(6)
                .text("cmd").text("/bin/true").text("args").raw(0xf7).text("tty").raw(0xf7).text("cwd").raw(0xf7)
                .text("rlimits").raw(0xf7).text("timeout_ms").raw(0xf7).build()));
        assertEquals(ExecRequest.of("/bin/true"), frame.payload());
        ProtocolException e = invalidPayload(MessageType.EXEC_REQUEST, new RawCbor().map(1).text("cmd").raw(0xf7), "cmd");
        assertEquals("core.exec.request: cmd: expected text, got null", e.getMessage());
    }

    @Test
    void unknownKeysOfAnyShapeAreSkipped() throws ProtocolException {
        Frame frame = decodeOne(RawCbor.frame(ID, MessageType.EXEC_SIGNAL, new RawCbor().raw(0xbf)
                .text("x").raw(0x9f, 0x01, 0xbf, 0x61, 0x61, 0xf6, 0xff, 0xff).text("signal").integer(-3)
                .text("y").raw(0xc1, 0x1a, 0, 0, 0, 1).raw(0xff).build()));
        assertEquals(new ExecSignal(-3), frame.payload());
    }

    @Test
    void shutdownAcceptsNullOrAMapAndRefusesOtherPayloads() throws ProtocolException {
        assertNull(decodeOne(RawCbor.frame(0, MessageType.CORE_SHUTDOWN, new RawCbor().nul().build())).payload());
        assertNull(decodeOne(RawCbor.frame(0, MessageType.CORE_SHUTDOWN,
                new RawCbor().map(1).text("reason").text("host stop").build())).payload());
        invalidPayload(MessageType.CORE_SHUTDOWN, new RawCbor().uint(1), "payload");
    }

    @Test
    void farFutureGenerationIsAccepted() throws ProtocolException {
        byte[] body = new RawCbor().map(3).text("v").raw(0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
                .text("t").text("core.ping").text("p").bytes(new byte[] {(byte) 0xa0}).build();
        assertEquals(MessageType.CORE_PING, decodeOne(RawCbor.frame(ID, 0, body)).type());
    }

    // ---- the envelope and the header

    @Test
    void olderGenerationIsUnsupportedProtocolGenerationWithIdAndType() {
        byte[] body = RawCbor.envelope(6, "core.ping", new byte[] {(byte) 0xa0});
        ProtocolException e = refused(RawCbor.frame(ID, 0, body));
        assertEquals(ErrorKind.UNSUPPORTED_PROTOCOL_GENERATION, e.kind());
        assertEquals(ID, e.id());
        assertEquals("core.ping", e.type());
    }

    @Test
    void envelopeWithoutVOrTOrPIsMalformed() {
        byte[] p = {(byte) 0xa0};
        ProtocolException noP = malformed(new RawCbor().map(2).text("v").uint(7).text("t").text("core.ping").build());
        assertEquals("core.ping", noP.type(), "t was read, so the refusal names it");
        malformed(new RawCbor().map(2).text("v").uint(7).text("p").bytes(p).build());
        malformed(new RawCbor().map(2).text("t").text("core.ping").text("p").bytes(p).build());
    }

    @Test
    void negativeOrTextGenerationIsMalformed() {
        byte[] p = {(byte) 0xa0};
        malformed(new RawCbor().map(3).text("v").integer(-7).text("t").text("core.ping").text("p").bytes(p).build());
        malformed(new RawCbor().map(3).text("v").text("7").text("t").text("core.ping").text("p").bytes(p).build());
    }

    @Test
    void duplicateEnvelopeKeyOrBytesAfterTheEnvelopeAreMalformed() {
        byte[] p = {(byte) 0xa0};
        malformed(new RawCbor().map(4).text("v").uint(7).text("t").text("core.ping").text("p").bytes(p)
                .text("t").text("core.pong").build());
        malformed(new RawCbor().raw(RawCbor.envelope(7, "core.ping", p)).uint(0).build());
    }

    @Test
    void emptyBodyIsMalformed() {
        ProtocolException e = malformed(new byte[0]);
        assertTrue(e.getMessage().contains("no body"), e.getMessage());
    }

    @Test
    void hostTextInRefusalMessagesIsQuotedEscaped() {
        ProtocolException variant = invalidPayload(MessageType.FS_REQUEST,
                new RawCbor().map(1).text("op").map(1).text("x\n\u001b[2J").map(0), "unknown FsOp variant");
        assertTrue(variant.getMessage().endsWith("variant \"x\\n\\u001b[2J\""), variant.getMessage());
        ProtocolException unknown = refused(RawCbor.frame(ID, 0, RawCbor.envelope(7, "core.\r\nfake log line",
                new byte[] {(byte) 0xa0})));
        assertEquals("unknown message type \"core.\\r\\nfake log line\"", unknown.getMessage());
    }

    @Test
    void unknownTypeCarriesItsTypeStringCutShortWhenHuge() {
        ProtocolException e = refused(RawCbor.frame(ID, 0, RawCbor.envelope(7, "core.fs.read", new byte[] {(byte) 0xa0})));
        assertEquals(ErrorKind.UNSUPPORTED_MESSAGE_TYPE, e.kind());
        assertEquals("core.fs.read", e.type());
        ProtocolException huge = refused(RawCbor.frame(ID, 0, RawCbor.envelope(7, "x".repeat(100_000), new byte[] {(byte) 0xa0})));
        assertEquals("x".repeat(HostText.QUOTE_MAX) + "...", huge.type(), "type string kept short for logs and replies");
        // The message quotes the type as sent, so the length it gives is the type's, not the cut one's.
        assertEquals("unknown message type \"" + "x".repeat(HostText.QUOTE_MAX) + "\"... (100000 chars)",
                huge.getMessage());
        // A refusal of the envelope after such a t carries it cut the same way.
        ProtocolException envelope = malformed(new RawCbor().map(3).text("v").uint(7).text("t").text("x".repeat(100_000))
                .text("p").text("not bytes").build());
        assertEquals("x".repeat(HostText.QUOTE_MAX) + "...", envelope.type());
    }

    // ---- the stream: lengths, memory, buffers

    @Test
    void tooLargeLengthIsRefusedFromThePrefixAloneWithNothingBuffered() {
        FrameDecoder decoder = new FrameDecoder();
        decoder.feed(new byte[] {0x00, 0x40, 0x00, 0x01}, 0, 4);
        ProtocolException e = assertThrows(ProtocolException.class, decoder::next);
        assertEquals(ErrorKind.FRAME_TOO_LARGE, e.kind());
        assertFalse(e.hasId());
        assertEquals(0, decoder.buffered());
        assertEquals(0, decoder.bufferCapacity());
    }

    @Test
    void lengthAtTheLimitIsReadAndOneAboveIsRefused() throws ProtocolException {
        byte[] ping = RawCbor.frame(ID, MessageType.CORE_PING, new byte[] {(byte) 0xa0});
        int len = ping.length - Protocol.LENGTH_BYTES;
        FrameDecoder atLimit = new FrameDecoder(len);
        atLimit.feed(ping, 0, ping.length);
        assertEquals(MessageType.CORE_PING, atLimit.next().type());
        FrameDecoder belowLimit = new FrameDecoder(len - 1);
        belowLimit.feed(ping, 0, ping.length);
        assertEquals(ErrorKind.FRAME_TOO_LARGE, assertThrows(ProtocolException.class, belowLimit::next).kind());
    }

    @Test
    void bufferGrowsWithTheBytesThatArriveNotWithTheDeclaredLength() {
        FrameDecoder decoder = new FrameDecoder();
        byte[] start = new byte[100];
        ByteBuffer.wrap(start).putInt(Protocol.MAX_FRAME_LEN);
        decoder.feed(start, 0, start.length);
        assertEquals(96, decoder.buffered());
        assertTrue(decoder.bufferCapacity() <= 4096, "capacity " + decoder.bufferCapacity());
    }

    @Test
    void directReadOnlyAndLittleEndianBuffersDecodeTheSame() throws ProtocolException {
        byte[] golden = Fixtures.bytes(Fixtures.named("exec_request_full"));
        Frame expected = Fixtures.expectedFrame(Fixtures.named("exec_request_full"));
        for (ByteBuffer src : List.of(ByteBuffer.allocateDirect(golden.length).put(golden).flip(),
                ByteBuffer.wrap(golden).asReadOnlyBuffer(),
                ByteBuffer.wrap(golden).order(java.nio.ByteOrder.LITTLE_ENDIAN))) {
            FrameDecoder decoder = new FrameDecoder();
            decoder.feed(src);
            assertFalse(src.hasRemaining());
            assertEquals(expected, decoder.next());
        }
    }

    @Test
    void resetDropsAPartialFrameAndQueuedResults() throws ProtocolException {
        byte[] golden = Fixtures.bytes(Fixtures.named("ping"));
        FrameDecoder decoder = new FrameDecoder();
        decoder.feed(golden, 0, golden.length);
        decoder.feed(golden, 0, 10);
        assertEquals(6, decoder.buffered());
        decoder.reset();
        assertEquals(0, decoder.buffered());
        assertNull(decoder.next());
        decoder.feed(golden, 0, golden.length);
        assertEquals(MessageType.CORE_PING, decoder.next().type());
    }

    @Test
    void frameLimitOutsideTheProtocolRangeIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> new FrameDecoder(4));
        assertThrows(IllegalArgumentException.class, () -> new FrameDecoder(Protocol.MAX_FRAME_LEN + 1));
    }

    // ---- helpers

    /** Bytes of a flood frame's keys: the frame, envelope included, stays within the frame limit. */
    private static final int FLOOD_ROOM = Protocol.MAX_FRAME_LEN - 256;
    /** Jackson builds a short String for each key it reads: for keys of a few bytes, the bulk of the cost. */
    private static final long ALLOCATION_PER_FRAME_BYTE = 11;

    /** The distinct key "_" + i in base 36, as unknown to every decoder as a key can be. */
    private static String unknownKey(int i) {
        return "_" + Integer.toString(i, 36);
    }

    /** How many of the entries {@link #unknownKeys} writes fit in {@code room} bytes. */
    private static int unknownKeysThatFit(int room) {
        int keys = 0;
        for (int used = 0; (used += 2 + unknownKey(keys).length()) <= room; ) {
            keys++;
        }
        return keys;
    }

    /** Writes {@code keys} entries of a distinct unknown key and the value 0 into {@code map}. */
    private static RawCbor unknownKeys(RawCbor map, int keys) {
        for (int i = 0; i < keys; i++) {
            map.text(unknownKey(i)).uint(0);
        }
        return map;
    }

    /**
     * Decodes {@code frame} as the agent does, on this thread, a few times, and checks what each
     * decoding allocated: a set of every key seen, or a quote built for every key skipped, goes well
     * past the budget. Each decoding counts, the first ones too: a frame can come before the JIT has
     * compiled the decoder, and what its escape analysis would drop (a JsonLocation per key checked,
     * once) must not be needed to stay within the budget.
     */
    private static Frame decodeWithinAllocationBudget(byte[] frame) throws ProtocolException {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long thread = Thread.currentThread().getId();
        Frame decoded = null;
        long most = 0;
        for (int i = 0; i < 3; i++) {
            FrameDecoder decoder = FrameDecoder.forAgent();
            long before = threads.getThreadAllocatedBytes(thread);
            decoder.feed(frame, 0, frame.length);
            decoded = decoder.next();
            most = Math.max(most, threads.getThreadAllocatedBytes(thread) - before);
            assertNull(decoder.next());
        }
        assertTrue(most < ALLOCATION_PER_FRAME_BYTE * frame.length, "decoding a frame of " + frame.length
                + " bytes allocated up to " + most + " bytes, more than " + ALLOCATION_PER_FRAME_BYTE + " per byte");
        return decoded;
    }

    private static Frame decodeOne(byte[] frame) throws ProtocolException {
        FrameDecoder decoder = new FrameDecoder();
        decoder.feed(frame, 0, frame.length);
        Frame decoded = decoder.next();
        assertNull(decoder.next());
        return decoded;
    }

    private static ProtocolException refused(byte[] frame) {
        FrameDecoder decoder = new FrameDecoder();
        decoder.feed(frame, 0, frame.length);
        ProtocolException e = assertThrows(ProtocolException.class, decoder::next);
        assertEquals(0, decoder.buffered(), "a refused frame is consumed whole");
        return e;
    }

    private static ProtocolException malformed(byte[] body) {
        ProtocolException e = refused(RawCbor.frame(ID, 0, body));
        assertEquals(ErrorKind.MALFORMED_MESSAGE, e.kind(), e.getMessage());
        assertEquals(ID, e.id());
        return e;
    }

    private static ProtocolException invalidPayload(MessageType type, RawCbor payload, String mentioned) {
        ProtocolException e = refused(RawCbor.frame(ID, type, payload.build()));
        assertEquals(ErrorKind.INVALID_PAYLOAD, e.kind(), e.getMessage());
        assertEquals(ID, e.id());
        assertEquals(type.wire(), e.type());
        assertTrue(e.getMessage().startsWith(type.wire() + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(mentioned), "message should name " + mentioned + ": " + e.getMessage());
        return e;
    }
}
