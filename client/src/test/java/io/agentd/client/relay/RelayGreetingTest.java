package io.agentd.client.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.Ready;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The reference slot layout, and telling a relay's greeting from an agent's first frame. */
class RelayGreetingTest {

    @Test
    void slotKOwnsKTimesSpanPlusOneUpToKTimesSpanPlusSpan() {
        assertEquals(33_554_431L, IdRange.SPAN, "4294967295 / 128");
        assertEquals(new IdRange(1, 33_554_431L), IdRange.slot(0));
        assertEquals(new IdRange(33_554_432L, 67_108_862L), IdRange.slot(1));
        assertEquals(new IdRange(127 * 33_554_431L + 1, 128 * 33_554_431L), IdRange.slot(127));
        for (int k = 0; k + 1 < IdRange.SLOTS; k++) {
            assertTrue(IdRange.slot(k).endExclusive() < IdRange.slot(k + 1).start(), "slots never overlap");
        }
        assertFalse(IdRange.slot(0).contains(0), "id 0 is nobody's");
    }

    @Test
    void theGreetingIsStartThenEndAsBigEndianU32() {
        byte[] bytes = RelayGreeting.encode(IdRange.slot(1)).array();
        assertEquals("02000000" + "03fffffe", hex(bytes));
        assertEquals(IdRange.slot(1), RelayGreeting.parse(bytes));
    }

    @Test
    void everySlotsGreetingIsRecognised() {
        for (int k = 0; k < IdRange.SLOTS; k++) {
            assertEquals(IdRange.slot(k), RelayGreeting.parse(RelayGreeting.encode(IdRange.slot(k)).array()));
        }
    }

    @Test
    void anAgentsFirstFrameIsNotAGreeting() {
        byte[] ready = new FrameEncoder().encode(new Frame(0, MessageType.CORE_READY, new Ready(1, 2, 3, "v")));
        assertNull(RelayGreeting.parse(Arrays.copyOf(ready, 8)));
    }

    @Test
    void outputOfASessionLeftRunningOnAPortIsNotAGreetingEither() {
        // An agent on a virtio port may send a previous host's session output before its ready:
        // its second u32 is that session's id, not 0, but its first is a legal frame length.
        byte[] stdout = new FrameEncoder().encode(new Frame(33_554_432L * 2, MessageType.EXEC_STDOUT,
                new ExecData(new byte[100])));
        assertNull(RelayGreeting.parse(Arrays.copyOf(stdout, 8)));
    }

    private static String hex(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (byte x : b) {
            s.append(String.format("%02x", x & 0xff));
        }
        return s.toString();
    }
}
