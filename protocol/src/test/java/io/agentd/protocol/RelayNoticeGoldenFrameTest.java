package io.agentd.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.agentd.protocol.payload.RelayClientRange;
import org.junit.jupiter.api.Test;

/** The relay notice of frames-fs.json (a verbatim copy of shared/fixtures/frames-fs.json). */
class RelayNoticeGoldenFrameTest {

    private static JsonNode relayFrame() {
        return Fixtures.fsFrames().stream()
                .filter(f -> f.get("name").asText().equals("relay_client_disconnected"))
                .findFirst().orElseThrow(() -> new AssertionError("no relay_client_disconnected in frames-fs.json"));
    }

    @Test
    void goldenRelayNoticeDecodesAndEncodesByteForByte() throws ProtocolException {
        GoldenFramesTest.check(relayFrame());
    }

    @Test
    void relayNoticeCoversItsHalfOpenRange() {
        Frame frame = Fixtures.expectedFrame(relayFrame());
        RelayClientRange notice = (RelayClientRange) frame.payload();
        assertTrue(notice.covers(notice.idStart()));
        assertTrue(notice.covers(notice.idEndExclusive() - 1));
        assertFalse(notice.covers(notice.idEndExclusive()));
        assertFalse(notice.covers(notice.idStart() - 1));
        assertEquals(0, frame.id());
    }

    /**
     * A reversed range is an empty one (PROTOCOL-EXTENSIONS.md), refused in the words the agent uses
     * for [N, N); an id past u32 is refused as such.
     */
    @Test
    void aRangeThatIsNotOneIsRefused() {
        assertEquals("core.relay.client.disconnected: id_start 30 is not below id_end_exclusive 20: no ids",
                refused(30, 20).getMessage());
        assertEquals("core.relay.client.disconnected: id_end_exclusive 4294967296 is past the largest u32 id,"
                + " 4294967295", refused(5, 1L << 32).getMessage());
        // A u64 past 2^63-1 is past u32 too (it passed as a negative long, naming the ids from 0).
        assertEquals("core.relay.client.disconnected: id_start 18446744073709551615 is past the largest u32 id,"
                + " 4294967295", refused(-1L, 5).getMessage());
    }

    /** The notice {id_start, id_end_exclusive} (each a u64 as written), refused invalid_payload. */
    private static ProtocolException refused(long idStart, long idEndExclusive) {
        byte[] bytes = RawCbor.frame(0, MessageType.CORE_RELAY_CLIENT_DISCONNECTED, new RawCbor().map(2)
                .text("id_start").uint(idStart).text("id_end_exclusive").uint(idEndExclusive).build());
        FrameDecoder decoder = new FrameDecoder();
        decoder.feed(bytes, 0, bytes.length);
        ProtocolException e = org.junit.jupiter.api.Assertions.assertThrows(ProtocolException.class, decoder::next);
        assertEquals(ErrorKind.INVALID_PAYLOAD, e.kind());
        return e;
    }
}
