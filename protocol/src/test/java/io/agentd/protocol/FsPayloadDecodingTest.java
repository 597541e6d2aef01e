package io.agentd.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import org.junit.jupiter.api.Test;

/** The fs codec's tolerance (order, unknown keys, defaults) and its refusals, each naming the field. */
class FsPayloadDecodingTest {

    private static Frame decode(MessageType type, RawCbor payload) throws ProtocolException {
        byte[] bytes = RawCbor.frame(9, type, payload.build());
        return FrameDecoder.decodeFrame(bytes, Protocol.LENGTH_BYTES, bytes.length - Protocol.LENGTH_BYTES);
    }

    private static FsOp op(RawCbor payload) throws ProtocolException {
        return ((FsRequest) decode(MessageType.FS_REQUEST, payload).payload()).op();
    }

    private static ProtocolException refused(RawCbor payload) {
        return assertThrows(ProtocolException.class, () -> decode(MessageType.FS_REQUEST, payload));
    }

    @Test
    void anyKeyOrderUnknownKeysAndMissingOptionalFields() throws ProtocolException {
        // Read with offset before handle, an unknown key, len missing (null: to the end).
        RawCbor p = new RawCbor().map(2).text("future").uint(1).text("op").map(1).text("Read")
                .map(3).text("offset").uint(4096).text("x").text("y").text("handle").uint(7);
        assertEquals(new FsOp.Read(7, 4096, null), op(p));
        // Stat without follow_symlink: false.
        assertEquals(new FsOp.Stat("/a", false),
                op(new RawCbor().map(1).text("op").map(1).text("Stat").map(1).text("path").text("/a")));
    }

    /**
     * A key that is another variant's is unknown to this one, and skipped like any unknown key:
     * before, every variant read every known name, so a Stat with a text "len" or a Symlink with an
     * over-long "path" was refused.
     */
    @Test
    void anotherVariantsKeyIsSkippedWhateverItsTypeOrSize() throws ProtocolException {
        assertEquals(new FsOp.Stat("/x", false), op(new RawCbor().map(1).text("op").map(1).text("Stat").map(2)
                .text("path").text("/x").text("len").text("abc")));
        String overLong = "/" + "x".repeat(FsLimits.PATH_MAX_BYTES);
        assertEquals(new FsOp.Symlink("a", "b"), op(new RawCbor().map(1).text("op").map(1).text("Symlink").map(3)
                .text("target").text("a").text("path").text(overLong).text("link_path").text("b")));
        assertEquals(new FsOp.CloseHandle(7), op(new RawCbor().map(1).text("op").map(1).text("CloseHandle").map(2)
                .text("options").uint(1).text("handle").uint(7)));
    }

    @Test
    void unknownVariantIsInvalidPayloadNamingIt() {
        ProtocolException e = refused(new RawCbor().map(1).text("op").map(1).text("Chmod")
                .map(1).text("path").text("/a"));
        assertEquals(ErrorKind.INVALID_PAYLOAD, e.kind());
        assertTrue(e.getMessage().contains("unknown FsOp variant \"Chmod\""), e.getMessage());
        assertEquals(9, e.id());
        assertEquals("core.fs.request", e.type());
    }

    @Test
    void malformedVariantsAreInvalidPayloadNamingTheField() {
        assertRefused("op.Stat.path", new RawCbor().map(1).text("op").map(1).text("Stat").map(1).text("path").uint(3));
        assertRefused("missing field op.Rename.dst",
                new RawCbor().map(1).text("op").map(1).text("Rename").map(1).text("src").text("/a"));
        assertRefused("op.Read must be a map", new RawCbor().map(1).text("op").map(1).text("Read").text("x"));
        assertRefused("names no FsOp variant", new RawCbor().map(1).text("op").map(0));
        assertRefused("more than one FsOp variant", new RawCbor().map(1).text("op").map(2)
                .text("Remove").map(1).text("path").text("/a").text("Stat").map(1).text("path").text("/b"));
        assertRefused("op.Mkdir.mode", new RawCbor().map(1).text("op").map(1).text("Mkdir").map(2)
                .text("path").text("/a").text("mode").uint(0x1_0000_0000L));
        assertRefused("missing field op", new RawCbor().map(0));
        assertRefused("op must be a map", new RawCbor().map(1).text("op").text("Stat"));
    }

    @Test
    void overLongPathIsRefusedBeforeItIsBuilt() {
        String path = "/" + "x".repeat(FsLimits.PATH_MAX_BYTES);
        ProtocolException e = refused(new RawCbor().map(1).text("op").map(1).text("Remove").map(1)
                .text("path").text(path));
        assertEquals(ErrorKind.LIMIT_EXCEEDED, e.kind());
        assertTrue(e.getMessage().contains("4097 bytes, more than the limit of 4096"), e.getMessage());
        assertEquals(ErrorKind.INVALID_PAYLOAD, e.kind().replyKind());
    }

    @Test
    void pathAtTheLimitIsAccepted() throws ProtocolException {
        String path = "/" + "x".repeat(FsLimits.PATH_MAX_BYTES - 1);
        assertEquals(new FsOp.Remove(path),
                op(new RawCbor().map(1).text("op").map(1).text("Remove").map(1).text("path").text(path)));
    }

    @Test
    void responseDefaultsAndRefusals() throws ProtocolException {
        FsResponse ok = (FsResponse) decode(MessageType.FS_RESPONSE, new RawCbor().map(1).text("ok").bool(true))
                .payload();
        assertTrue(ok.ok());
        assertNull(ok.data());
        ProtocolException e = assertThrows(ProtocolException.class, () -> decode(MessageType.FS_RESPONSE,
                new RawCbor().map(2).text("ok").bool(true).text("data").map(1).text("Blob").uint(1)));
        assertTrue(e.getMessage().contains("unknown FsResponseData variant"), e.getMessage());
    }

    @Test
    void fsDataTakesTheDataFramePathBothWays() throws ProtocolException {
        byte[] data = new byte[100_000];
        data[99_999] = 42;
        Frame frame = new Frame(19, MessageType.FS_DATA, new ExecData(data));
        byte[] bytes = new FrameEncoder().encode(frame);
        FrameDecoder decoder = new FrameDecoder();
        // Fed in pieces: the large frame is streamed into its own array (the data-frame path).
        for (int at = 0; at < bytes.length; at += 1000) {
            decoder.feed(bytes, at, Math.min(1000, bytes.length - at));
        }
        Frame back = decoder.next();
        assertEquals(frame, back);
        decoder.recycle(back);
        decoder.feed(bytes, 0, 50);
        decoder.feed(bytes, 50, bytes.length - 50);
        assertTrue(decoder.next().payload() instanceof ExecData again && again.data() == ((ExecData) back.payload()).data(),
                "the recycled array is reused for the next fs.data of the same length");
    }

    private static void assertRefused(String detail, RawCbor payload) {
        ProtocolException e = refused(payload);
        assertEquals(ErrorKind.INVALID_PAYLOAD, e.kind(), e.getMessage());
        assertTrue(e.getMessage().contains(detail), e.getMessage());
    }
}
