package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecStarted;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The end of a PTY session's input is ^D, which the terminal takes as the end only at the start of
 * a line: after a partial line the client sends a second one (the first sends the line).
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PtyEndOfInputTest {
    private static final byte[] ONE_EOF = {0x04};
    private static final byte[] TWO_EOF = {0x04, 0x04};

    @TempDir
    Path dir;

    /** The stdin frames a PTY session sends for {@code input} then closeStdin. */
    private byte[] endAfter(String input) throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(dir); AgentClient client = peer.connect()) {
            ExecRequest tty = new ExecRequest("cat", List.of(), List.of(), null, null, true, 24, 80, List.of(), null,
                    false);
            ExecSession s = client.start(tty, output -> { });
            Frame request = peer.receive();
            peer.send(new Frame(request.id(), MessageType.EXEC_STARTED, new ExecStarted(9)));
            s.awaitStarted(java.time.Duration.ofSeconds(10));
            if (!input.isEmpty()) {
                s.writeStdin(input.getBytes(StandardCharsets.UTF_8));
                assertArrayEquals(input.getBytes(StandardCharsets.UTF_8),
                        ((ExecData) peer.receive().payload()).data());
            }
            s.closeStdin();
            Frame end = peer.receive();
            assertEquals(MessageType.EXEC_STDIN, end.type());
            return ((ExecData) end.payload()).data();
        }
    }

    @Test
    void afterACompleteLineOneEndOfInput() throws Exception {
        assertArrayEquals(ONE_EOF, endAfter("a line\n"));
    }

    @Test
    void afterAPartialLineTwo() throws Exception {
        assertArrayEquals(TWO_EOF, endAfter("no newline"));
    }

    @Test
    void withNoInputAtAllOne() throws Exception {
        assertArrayEquals(ONE_EOF, endAfter(""));
    }
}
