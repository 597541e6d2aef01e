package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.ExecRequest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** What the client does when the agent goes away; each test has a daemon of its own. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ConnectionLossTest {
    private static final Duration WAIT = Duration.ofSeconds(20);

    @Test
    void killingTheAgentFailsEveryOpenSessionWithinASecond(@TempDir Path dir) throws Exception {
        try (AgentdProcess agentd = AgentdProcess.start(dir); AgentClient client = agentd.connect()) {
            List<ExecSession> sessions = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                ExecSession s = client.start(ExecRequest.of("sleep", "60"));
                s.awaitStarted(WAIT);
                sessions.add(s);
            }
            ExecSession queued = client.start(ExecRequest.of("sleep", "60"));
            queued.awaitStarted(WAIT);

            agentd.kill();
            for (ExecSession s : sessions) {
                // a TimeoutException here means the loss was not noticed within the second
                assertThrows(ConnectionLostException.class, () -> s.awaitExit(Duration.ofSeconds(1)));
            }
            assertThrows(ConnectionLostException.class, () -> queued.awaitExit(Duration.ofSeconds(1)));
            assertEquals(null, queued.nextOutput(Duration.ofSeconds(1)), "the output queue ends too");
            assertFalse(client.isOpen());
            assertThrows(ConnectionLostException.class, () -> client.start(ExecRequest.of("true")));
            assertThrows(ConnectionLostException.class, () -> client.ping(WAIT));
        }
    }

    @Test
    void closingTheClientFailsItsOpenSessions(@TempDir Path dir) throws Exception {
        try (AgentdProcess agentd = AgentdProcess.start(dir)) {
            AgentClient client = agentd.connect();
            ExecSession s = client.start(ExecRequest.of("sleep", "60"));
            s.awaitStarted(WAIT);
            client.close();
            assertThrows(ConnectionLostException.class, () -> s.awaitExit(Duration.ofSeconds(1)));
            // the agent takes new connections afterwards
            try (AgentClient again = agentd.connect()) {
                assertEquals(0, again.run(ExecRequest.of("true"), WAIT).exitCode());
            }
        }
    }

    @Test
    void aSessionCutOffByAClosedClientFailsEveryLaterCallWithConnectionLost(@TempDir Path dir) throws Exception {
        try (AgentdProcess agentd = AgentdProcess.start(dir)) {
            AgentClient client = agentd.connect();
            ExecSession s = client.startWithStreams(ExecRequest.of("sleep", "60"));
            s.awaitStarted(WAIT);
            client.close();
            assertThrows(ConnectionLostException.class, () -> s.signal(9));
            assertThrows(ConnectionLostException.class, () -> s.resize(24, 80));
            assertThrows(ConnectionLostException.class, () -> s.stdin().write(1));
            assertThrows(ConnectionLostException.class, () -> s.stdout().read());
            s.closeStdin(); // documented: nothing to do once the session has ended
        }
    }

    @Test
    void shutdownStopsTheAgent(@TempDir Path dir) throws Exception {
        try (AgentdProcess agentd = AgentdProcess.start(dir); AgentClient client = agentd.connect()) {
            client.shutdown();
            assertTrue(client.awaitClosed(WAIT), "the agent closes the connection");
            assertTrue(agentd.waitForExit(WAIT), "the agent process exits");
        }
    }
}
