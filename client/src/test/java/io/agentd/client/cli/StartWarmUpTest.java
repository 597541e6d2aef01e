package io.agentd.client.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Ready;
import org.junit.jupiter.api.Test;

/** The warm-up swallows its failures; this says it still goes the whole path the reader will. */
class StartWarmUpTest {
    @Test
    void theWarmUpsReadyIsDecodedAsTheReaderDecodesTheAgentsFirstFrame() throws Exception {
        Frame decoded = StartWarmUp.readyRoundTrip();
        assertEquals(MessageType.CORE_READY, decoded.type());
        assertEquals("warm-up", ((Ready) decoded.payload()).agentVersion());
    }
}
