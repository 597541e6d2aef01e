package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.ErrorKind;
import io.agentd.protocol.payload.ErrorPayload;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** What a core.error keeps of the agent's texts. */
class AgentErrorExceptionTest {

    /**
     * A session keeps up to 128 errors: each keeps at most about a KiB of each text, and says how long
     * it was. Before, a 4 MiB message was kept whole, most of a GiB per session.
     */
    @Test
    void anAgentsHugeTextsAreKeptCutAndSayHowLongTheyWere() {
        String huge = "é".repeat(2 << 20); // 4 MiB in UTF-8
        AgentErrorException e = new AgentErrorException(new ErrorPayload(huge, huge, huge));
        assertTrue(e.getMessage().getBytes(StandardCharsets.UTF_8).length < 4 * AgentErrorException.TEXT_MAX_BYTES,
                "kept " + e.getMessage().length() + " chars");
        assertTrue(e.getMessage().endsWith("… (4194304 bytes)"), e.getMessage().substring(e.getMessage().length() - 40));
        assertTrue(e.kindWire().length() < 2 * AgentErrorException.TEXT_MAX_BYTES);
        assertTrue(e.offendingType().length() < 2 * AgentErrorException.TEXT_MAX_BYTES);
        assertNull(e.kind(), "an unknown kind");
    }

    @Test
    void ordinaryTextsAreKeptAsTheyAre() {
        AgentErrorException e = new AgentErrorException(new ErrorPayload("invalid_session", "session 5 is unknown",
                "core.exec.signal"));
        assertEquals("agent refused core.exec.signal: invalid_session: session 5 is unknown", e.getMessage());
        assertEquals(ErrorKind.INVALID_SESSION, e.kind());
        assertEquals("core.exec.signal", e.offendingType());
    }
}
