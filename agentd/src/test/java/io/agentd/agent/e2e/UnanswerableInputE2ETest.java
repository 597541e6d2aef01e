package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecStarted;
import io.agentd.protocol.payload.Rlimit;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Input the agent cannot answer the usual way: a frame length it cannot trust on a socket, and a
 * request whose failure report would not fit a frame. Each still gets an answer, and nothing is
 * read out of the inside of a refused frame.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class UnanswerableInputE2ETest {

    /**
     * Issue 11, case 7. The bytes after a refused length may be the inside of the refused frame: a
     * request there must never run. On a socket the agent answers, then drops the host, whose
     * sessions die with it; the next host is served as usual.
     */
    @Test
    void anUntrustedLengthOnASocketDropsTheHostAndNothingInsideTheFrameRuns() throws Exception {
        try (AgentProcess agent = AgentProcess.start("resync-socket")) {
            Path marker = agent.dir().resolve("inside-the-refused-frame");
            long sleeper;
            try (HostConnection host = agent.connectReady()) {
                host.exec(1, Requests.sh("sleep 300"));
                sleeper = ((ExecStarted) host.expect(1, MessageType.EXEC_STARTED).payload()).pid();
                host.sendRaw(new byte[] {0x00, 0x50, 0x00, 0x00}); // 5 MiB: over the frame limit
                Thread.sleep(300); // the agent reads the rest separately, as another chunk
                try {
                    host.exec(2, Requests.sh("touch " + marker));
                } catch (IOException dropped) {
                    // the agent may have closed the connection already
                }
                host.expectError(0, "malformed_message");
                awaitTrue(host::disconnected, Duration.ofSeconds(10), "the agent keeps the connection");
            }
            awaitTrue(() -> Procs.gone(sleeper), Duration.ofSeconds(10), "the dropped host's session still runs");
            assertFalse(Files.exists(marker), "a request inside the refused frame ran");
            try (HostConnection host = agent.connectReady()) {
                host.send(new Frame(3, MessageType.CORE_PING, Empty.INSTANCE));
                host.expect(3, MessageType.CORE_PONG);
                assertTrue(host.nothingMore(2, Duration.ofMillis(300)), "the request inside was answered");
            }
            agent.awaitLog("dropped after a frame length it cannot trust");
        }
    }

    /**
     * Issue 11, case 5. A cmd of about 4 MiB cannot be run, and the failure that quotes it (here with
     * the list of rlimit names, for an unknown one) would be over the frame limit. The host still gets
     * a terminal frame on that id (bad_args once the codec checks the request limits; before that the
     * send path's minimal failed), and the agent goes on.
     */
    @Test
    void aRequestWhoseFailureWouldNotFitAFrameIsStillAnswered() throws Exception {
        try (AgentProcess agent = AgentProcess.start("unencodable");
                HostConnection host = agent.connectReady()) {
            host.exec(5, largestRequestWithAnUnknownRlimit());
            Frame answer = host.next(5);
            assertEquals(MessageType.EXEC_FAILED, answer.type(), answer.type().toString());
            ExecFailed failed = (ExecFailed) answer.payload();
            assertTrue(failed.message().length() < 1024, "message of " + failed.message().length() + " chars");
            host.send(new Frame(6, MessageType.CORE_PING, Empty.INSTANCE));
            host.expect(6, MessageType.CORE_PONG);
        }
    }

    /** A request with a cmd as long as a frame allows (about 4,194,104 bytes) and an unknown rlimit. */
    static ExecRequest largestRequestWithAnUnknownRlimit() {
        FrameEncoder encoder = new FrameEncoder();
        for (int cmdBytes = 4_194_104; ; cmdBytes -= 16) {
            ExecRequest r = new ExecRequest("x".repeat(cmdBytes), List.of(), List.of(), null, null, false, 24, 80,
                    List.of(new Rlimit("no_such_limit", 1, 1)), null);
            try {
                encoder.encode(new Frame(5, MessageType.EXEC_REQUEST, r));
                return r;
            } catch (IllegalArgumentException overTheFrameLimit) {
                // shorter
            }
        }
    }

    @FunctionalInterface
    interface Check {
        boolean holds() throws Exception;
    }

    static void awaitTrue(Check check, Duration timeout, String failure) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!check.holds()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(failure + " after " + timeout);
            }
            Thread.sleep(20);
        }
    }
}
