package io.agentd.agent.e2e;

import static io.agentd.agent.e2e.Requests.sh;
import static io.agentd.agent.e2e.Requests.withTimeout;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecSignal;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A signal, a timeout of 0 or a shutdown that arrives together with an exec request: the outcome of
 * the start is known before the agent reads the next frame, so `started` is only ever sent for a
 * program that was exec'd, and a program that could not be started is always `failed` with its kind.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class StartRaceE2ETest {
    private static final int ROUNDS = 20;
    private static final String MISSING = "/does/not/exist";

    @RegisterExtension
    static final SharedAgent agent = new SharedAgent("start-race");

    @Test
    void signalInTheSameWriteAsARequestThatCannotStartLeavesItFailedNotFound(HostConnection host)
            throws Exception {
        for (int i = 0; i < ROUNDS; i++) {
            long id = 100 + i;
            host.sendTogether(new Frame(id, MessageType.EXEC_REQUEST, ExecRequest.of(MISSING)),
                    new Frame(id, MessageType.EXEC_SIGNAL, new ExecSignal(9)));
            SessionResult r = host.collect(id, HostConnection.TIMEOUT);
            assertNotNull(r.failed(), "round " + i + ": failed, not started");
            assertEquals("not_found", r.failed().kind(), "round " + i);
            host.expectError(id, "invalid_session"); // the signal found no session: it never started
        }
    }

    @Test
    void signalInTheSameWriteAsARequestThatStartsReachesTheStartedProgram(HostConnection host) throws Exception {
        for (int i = 0; i < ROUNDS; i++) {
            long id = 200 + i;
            host.sendTogether(new Frame(id, MessageType.EXEC_REQUEST, ExecRequest.of("sleep", "60")),
                    new Frame(id, MessageType.EXEC_SIGNAL, new ExecSignal(9)));
            SessionResult r = host.collect(id, HostConnection.TIMEOUT);
            assertNull(r.failed(), "round " + i);
            assertEquals(9, r.exited().signal(), "round " + i + ": the exec'd sleep got the SIGKILL");
        }
    }

    @Test
    void timeoutZeroOnARequestThatCannotStartIsFailedNotFound(HostConnection host) throws Exception {
        for (int i = 0; i < ROUNDS; i++) {
            long id = 300 + i;
            SessionResult r = host.run(id, withTimeout(ExecRequest.of(MISSING), 0));
            assertNotNull(r.failed(), "round " + i + ": failed, not started");
            assertEquals("not_found", r.failed().kind(), "round " + i);
            assertTrue(host.nothingMore(id, Duration.ofMillis(50)), "nothing after failed");
        }
    }

    @Test
    void timeoutZeroOnAProgramThatStartsIsStartedThenTimedOut(HostConnection host) throws Exception {
        for (int i = 0; i < ROUNDS; i++) {
            long id = 400 + i;
            SessionResult r = host.run(id, withTimeout(sh("sleep 60"), 0));
            assertNull(r.failed(), "round " + i);
            assertEquals(Boolean.TRUE, r.exited().timedOut(), "round " + i);
        }
    }

    /** A shutdown read together with the request: the request is answered first, truthfully. */
    @Test
    void shutdownInTheSameWriteAsRequestsAnswersEachByWhatHappened() throws Exception {
        for (int i = 0; i < 3; i++) {
            try (AgentProcess own = AgentProcess.start("start-race-shutdown", "--grace-ms", "500");
                    HostConnection host = own.connect()) {
                host.expect(0, MessageType.CORE_READY);
                host.sendTogether(new Frame(1, MessageType.EXEC_REQUEST, ExecRequest.of(MISSING)),
                        new Frame(2, MessageType.EXEC_REQUEST, ExecRequest.of("sleep", "60")),
                        new Frame(0, MessageType.CORE_SHUTDOWN, null));
                assertEquals("not_found", host.collect(1, HostConnection.TIMEOUT).failed().kind());
                SessionResult sleep = host.collect(2, HostConnection.TIMEOUT);
                assertNull(sleep.failed(), "sleep was exec'd before the shutdown was read");
                assertEquals(15, sleep.exited().signal(), "the shutdown's SIGTERM reached the exec'd sleep");
                assertEquals(0, own.awaitExit(Duration.ofSeconds(30)));
            }
        }
    }
}
