package io.agentd.agent.transport;

import io.agentd.agent.LogText;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.agentd.agent.loop.LogThrottle;
import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecExited;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.ExecStdinError;
import org.junit.jupiter.api.Test;

/** The pieces of the send path's safety net and of the bounded logs, without a loop. */
class SendSafetyNetTest {
    private static final String HUGE = "x".repeat(4 * 1024 * 1024);

    @Test
    void aTerminalFrameTooLargeToEncodeHasAMinimalReplacementThatEncodes() {
        FrameEncoder encoder = new FrameEncoder();
        Frame failed = new Frame(7, MessageType.EXEC_FAILED, new ExecFailed("other", 7, "E2BIG", HUGE, "exec"));
        assertThrows(IllegalArgumentException.class, () -> encoder.encode(failed));
        Frame replacement = UnencodableFrames.replacementFor(failed);
        assertEquals(MessageType.EXEC_FAILED, replacement.type());
        assertEquals(7, replacement.id());
        assertEquals("other", ((ExecFailed) replacement.payload()).kind());
        encoder.encode(replacement);

        Frame error = new Frame(8, MessageType.CORE_ERROR, new ErrorPayload("invalid_payload", HUGE, "t"));
        Frame errorReplacement = UnencodableFrames.replacementFor(error);
        assertEquals("invalid_payload", ((ErrorPayload) errorReplacement.payload()).kind());
        encoder.encode(errorReplacement);

        Frame exited = new Frame(9, MessageType.EXEC_EXITED, new ExecExited(137, 9, true));
        assertEquals(137, ((ExecExited) UnencodableFrames.replacementFor(exited).payload()).code());
    }

    @Test
    void aNonTerminalFrameHasNoReplacement() {
        assertNull(UnencodableFrames.replacementFor(new Frame(1, MessageType.EXEC_STDIN_ERROR,
                new ExecStdinError(32, "EPIPE", HUGE))));
        assertNull(UnencodableFrames.replacementFor(new Frame(1, MessageType.EXEC_STDOUT, new ExecData(new byte[1]))));
    }

    @Test
    void throttleLogsTheFirstThenOnePerIntervalWithTheCountInBetween() {
        LogThrottle t = new LogThrottle(1000);
        long ms = 1_000_000;
        assertEquals(0, t.admit(0));
        assertEquals(LogThrottle.SKIP, t.admit(10 * ms));
        assertEquals(LogThrottle.SKIP, t.admit(999 * ms));
        assertEquals(2, t.admit(1000 * ms));
        assertEquals(0, t.admit(5000 * ms));
    }

    @Test
    void hostTextInALogLineIsAShortPrefix() {
        assertEquals("short", LogText.message("short"));
        String line = LogText.message(HUGE);
        assertEquals(LogText.MESSAGE_MAX_CHARS + "... (4194304 chars)".length(), line.length(), line.substring(0, 20));
    }

    @Test
    void acceptBackoffDoublesToItsBoundAndStartsOverAfterASuccess() {
        AcceptBackoff b = new AcceptBackoff();
        long[] expected = {10, 20, 40, 80, 160, 320, 640, 1000, 1000};
        for (long e : expected) {
            assertEquals(e, b.failed());
        }
        b.succeeded();
        assertEquals(AcceptBackoff.FIRST_MILLIS, b.failed());
    }
}
