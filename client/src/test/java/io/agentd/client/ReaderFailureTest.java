package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecStarted;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * An Error on the connection's reader thread (here an OutputListener's AssertionError, as a test's
 * assertion in a listener throws) ends the connection: every caller gets ConnectionLostException
 * with it as the cause, instead of waiting for a reader that is gone.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ReaderFailureTest {

    @Test
    void anErrorInAListenerEndsTheConnectionInsteadOfLeavingItsCallersWaiting(@TempDir Path dir) throws Exception {
        try (ScriptedPeer peer = new ScriptedPeer(dir); AgentClient client = peer.connect()) {
            ExecSession s = client.start(ExecRequest.of("cat"), output -> {
                throw new AssertionError("a listener's failed assertion");
            });
            Frame request = peer.receive();
            peer.send(new Frame(request.id(), MessageType.EXEC_STARTED, new ExecStarted(9)));
            s.awaitStarted(Duration.ofSeconds(10));
            peer.send(new Frame(request.id(), MessageType.EXEC_STDOUT, new ExecData(new byte[] {'x'})));

            ConnectionLostException e = assertThrows(ConnectionLostException.class,
                    () -> s.awaitExit(Duration.ofSeconds(10)));
            assertInstanceOf(ConnectionLostException.class, e.getCause(), "the loss the reader recorded");
            assertInstanceOf(AssertionError.class, e.getCause().getCause());
            assertFalse(client.isOpen());
            assertThrows(ConnectionLostException.class, () -> client.ping(Duration.ofSeconds(10)));
        }
    }
}
