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

    @Test
    void aRangeThatIsNotOneIsRefused() {
        FrameEncoder encoder = new FrameEncoder();
        byte[] bytes = encoder.encode(new Frame(0, MessageType.CORE_RELAY_CLIENT_DISCONNECTED,
                new RelayClientRange(10, 5)));
        FrameDecoder decoder = new FrameDecoder();
        decoder.feed(bytes, 0, bytes.length);
        ProtocolException e = org.junit.jupiter.api.Assertions.assertThrows(ProtocolException.class, decoder::next);
        assertEquals(ErrorKind.INVALID_PAYLOAD, e.kind());
    }
}
