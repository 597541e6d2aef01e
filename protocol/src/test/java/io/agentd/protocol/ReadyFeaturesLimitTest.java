package io.agentd.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.Ready;
import org.junit.jupiter.api.Test;

/**
 * core.ready's features are bounded ({@link Ready#FEATURES_MAX_ENTRIES}): a frame of one-character
 * features would otherwise cost a host's client some 25 times the frame in String objects. A
 * definite array over the bound is refused from its head, an indefinite one at its first entry past it.
 */
class ReadyFeaturesLimitTest {
    private static RawCbor ready(int features) {
        return new RawCbor().map(4).text("boot_time_ns").uint(1).text("init_time_ns").uint(2)
                .text("ready_time_ns").uint(3).text("features").array(features);
    }

    private static Frame decode(RawCbor p) throws ProtocolException {
        FrameDecoder decoder = new FrameDecoder();
        byte[] frame = RawCbor.frame(Protocol.CONTROL_ID, MessageType.CORE_READY, p.build());
        decoder.feed(frame, 0, frame.length);
        return decoder.next();
    }

    @Test
    void asManyFeaturesAsTheLimitAreRead() throws ProtocolException {
        RawCbor p = ready(Ready.FEATURES_MAX_ENTRIES);
        for (int i = 0; i < Ready.FEATURES_MAX_ENTRIES; i++) {
            p.text("f" + i);
        }
        Ready ready = (Ready) decode(p).payload();
        assertEquals(Ready.FEATURES_MAX_ENTRIES, ready.features().size());
        assertEquals("f255", ready.features().get(255));
    }

    @Test
    void aDefiniteArrayOverTheLimitIsRefusedFromItsHead() {
        ProtocolException e = assertThrows(ProtocolException.class, () -> decode(ready(2_000_000)));
        assertEquals(ErrorKind.INVALID_PAYLOAD, e.kind());
        assertTrue(e.getMessage().contains("features: 2000000 entries, more than the limit of 256"), e.getMessage());
    }

    /** Jackson refuses a head of 2^31 entries or more itself, in its words: the limit is read from the head first. */
    @Test
    void aDeclaredCountPastIntRangeIsRefusedFromItsHeadToo() {
        RawCbor p = new RawCbor().map(4).text("boot_time_ns").uint(1).text("init_time_ns").uint(2)
                .text("ready_time_ns").uint(3).text("features").head(4, 1L << 40);
        ProtocolException e = assertThrows(ProtocolException.class, () -> decode(p));
        assertEquals(ErrorKind.INVALID_PAYLOAD, e.kind());
        assertTrue(e.getMessage().contains("features: 1099511627776 entries, more than the limit of 256"), e.getMessage());
    }

    @Test
    void anIndefiniteArrayIsRefusedAtItsFirstEntryPastTheLimit() {
        RawCbor p = new RawCbor().map(4).text("boot_time_ns").uint(1).text("init_time_ns").uint(2)
                .text("ready_time_ns").uint(3).text("features").raw(0x9f);
        for (int i = 0; i <= Ready.FEATURES_MAX_ENTRIES; i++) {
            p.text("x");
        }
        p.raw(0xff);
        ProtocolException e = assertThrows(ProtocolException.class, () -> decode(p));
        assertEquals(ErrorKind.INVALID_PAYLOAD, e.kind());
        assertTrue(e.getMessage().contains("features: more than the limit of 256 entries"), e.getMessage());
    }
}
