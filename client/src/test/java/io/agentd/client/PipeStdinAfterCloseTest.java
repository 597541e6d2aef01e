package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecStarted;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * After a pipe session's closeStdin the agent has closed the process's stdin: a later write fails
 * at once, naming the cause, instead of going out to come back as an asynchronous EPIPE, and a
 * second closeStdin sends nothing.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PipeStdinAfterCloseTest {

    @Test
    void writesAfterTheEndOfInputFailHereAndNothingMoreIsSent(@TempDir Path dir) throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(dir); AgentClient client = peer.connect()) {
            ExecSession s = client.start(ExecRequest.of("cat"), output -> { });
            Frame request = peer.receive();
            peer.send(new Frame(request.id(), MessageType.EXEC_STARTED, new ExecStarted(9)));
            s.awaitStarted(Duration.ofSeconds(10));

            s.closeStdin();
            Frame end = peer.receive();
            assertEquals(MessageType.EXEC_STDIN, end.type());
            assertEquals(0, ((ExecData) end.payload()).data().length, "the end of input");

            IOException e = assertThrows(IOException.class, () -> s.writeStdin(new byte[] {'x'}));
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
            assertThrows(IOException.class, () -> s.writeStdin(ByteBuffer.allocateDirect(1)));
            assertThrows(IOException.class, () -> s.stdin().write('x'));
            s.closeStdin();
            s.stdin().close();

            s.signal(15); // the next frame the peer sees: nothing was sent in between
            Frame next = peer.receive();
            assertEquals(MessageType.EXEC_SIGNAL, next.type());
            assertEquals(0, s.stdinBytesSent());
        }
    }

    /**
     * startWithoutInput: the end of input has gone out by the time it returns (with the request, not
     * after it), the request asks for no stdin credit, and a closeStdin later sends nothing.
     */
    @Test
    void withoutInputTheEndOfInputGoesOutWithTheRequest(@TempDir Path dir) throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(dir); AgentClient client = peer.connect("stdin_window")) {
            ExecSession s = client.startWithoutInput(ExecRequest.of("true"), output -> { });
            Frame request = peer.receive();
            assertEquals(MessageType.EXEC_REQUEST, request.type());
            assertFalse(((ExecRequest) request.payload()).stdinWindow(), "no credit asked for: no data will follow");
            Frame end = peer.receive();
            assertEquals(MessageType.EXEC_STDIN, end.type());
            assertEquals(request.id(), end.id());
            assertEquals(0, ((ExecData) end.payload()).data().length, "the end of input");

            peer.send(new Frame(request.id(), MessageType.EXEC_STARTED, new ExecStarted(9)));
            s.awaitStarted(Duration.ofSeconds(10));
            s.closeStdin();
            assertThrows(IOException.class, () -> s.writeStdin(new byte[] {'x'}));
            s.signal(15); // the next frame the peer sees: nothing was sent in between
            assertEquals(MessageType.EXEC_SIGNAL, peer.receive().type());
            assertThrows(IllegalArgumentException.class,
                    () -> client.startWithoutInput(new ExecRequest("sh", List.of(), List.of(), null, null, true, 24, 80, List.of(), null),
                            output -> { }));
        }
    }

    /** An end of input that could not go out (the connection broke as it was sent) is no end of input. */
    @Test
    void aCloseThatBrokeTheConnectionLeavesLaterWritesSayingSo(@TempDir Path dir) throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(dir); AgentClient client = peer.connect()) {
            ExecSession s = client.startWithStreams(ExecRequest.of("cat"));
            Frame request = peer.receive();
            peer.send(new Frame(request.id(), MessageType.EXEC_STARTED, new ExecStarted(9)));
            s.awaitStarted(Duration.ofSeconds(10));

            peer.stopReading();
            assertThrows(ConnectionLostException.class, () -> s.stdin().close());
            IOException e = assertThrows(IOException.class, () -> s.stdin().write('x'));
            assertTrue(e instanceof ConnectionLostException, "the write says the connection is gone: " + e);
            e = assertThrows(IOException.class, () -> s.writeStdin(new byte[] {'x'}));
            assertTrue(e instanceof ConnectionLostException, "so does the session's own write: " + e);
        }
    }
}
