package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecSignal;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A signal, a deadline or shutdown that reaches a session before its start resolved never makes a
 * failed start look like a started one: it waits for the start, then goes to the program (started)
 * or is dropped (failed).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class StartResolvesFirstE2ETest {
    private static final int ROUNDS = 20;

    @RegisterExtension
    static final SharedAgent agent = new SharedAgent("start-first");

    private static byte[] inOneWrite(Frame... frames) {
        FrameEncoder encoder = new FrameEncoder();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Frame f : frames) {
            out.writeBytes(encoder.encode(f));
        }
        return out.toByteArray();
    }

    @Test
    void aKillRightAfterTheRequestDoesNotTurnNotFoundIntoStarted(HostConnection host) throws Exception {
        for (long id = 1; id <= ROUNDS; id++) {
            host.sendRaw(inOneWrite(new Frame(id, MessageType.EXEC_REQUEST, ExecRequest.of("/does/not/exist")),
                    new Frame(id, MessageType.EXEC_SIGNAL, new ExecSignal(9))));
            SessionResult r = host.collect(id, HostConnection.TIMEOUT);
            assertNotNull(r.failed(), "round " + id + ": " + r.exited());
            assertEquals("not_found", r.failed().kind(), "round " + id);
        }
    }

    @Test
    void aTimeoutOfZeroDoesNotTurnNotFoundIntoStarted(HostConnection host) throws Exception {
        for (long id = 100; id < 100 + ROUNDS; id++) {
            host.exec(id, new ExecRequest("/does/not/exist", List.of(), List.of(), null, null, false, 24, 80,
                    List.of(), 0L));
            SessionResult r = host.collect(id, HostConnection.TIMEOUT);
            assertNotNull(r.failed(), "round " + id + ": " + r.exited());
            assertEquals("not_found", r.failed().kind(), "round " + id);
        }
    }

    @Test
    void aSignalHeldDuringTheStartReachesTheProgram(HostConnection host) throws Exception {
        host.sendRaw(inOneWrite(new Frame(200, MessageType.EXEC_REQUEST, ExecRequest.of("sleep", "60")),
                new Frame(200, MessageType.EXEC_SIGNAL, new ExecSignal(9))));
        SessionResult r = host.collect(200, HostConnection.TIMEOUT);
        assertEquals(137, r.code());
        assertEquals(9, r.exited().signal());
    }

    @Test
    void aTimeoutOfZeroStillEndsAProgramThatStarts(HostConnection host) throws Exception {
        SessionResult r = host.run(201, new ExecRequest("sleep", List.of("60"), List.of(), null, null, false, 24, 80,
                List.of(), 0L));
        assertEquals(Boolean.TRUE, r.exited().timedOut());
        assertEquals(143, r.code());
    }

    @Test
    void shutdownRightAfterTheRequestDoesNotTurnNotFoundIntoStarted() throws Exception {
        for (int round = 1; round <= 3; round++) {
            try (AgentProcess process = AgentProcess.start("start-first-shutdown");
                    HostConnection host = process.connectReady()) {
                host.sendRaw(inOneWrite(new Frame(1, MessageType.EXEC_REQUEST, ExecRequest.of("/does/not/exist")),
                        new Frame(0, MessageType.CORE_SHUTDOWN, null)));
                SessionResult r = host.collect(1, HostConnection.TIMEOUT);
                assertNotNull(r.failed(), "round " + round + ": " + r.exited());
                assertEquals("not_found", r.failed().kind(), "round " + round);
                assertEquals(0, process.awaitExit(Duration.ofSeconds(30)));
            }
        }
    }
}
