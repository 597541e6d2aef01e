package io.agentd.agent.e2e;

import static io.agentd.agent.e2e.SessionsE2ETest.attachToEnd;
import static io.agentd.agent.e2e.SessionsE2ETest.find;
import static io.agentd.agent.e2e.SessionsE2ETest.list;
import static io.agentd.agent.e2e.SessionsE2ETest.startDetached;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecStarted;
import io.agentd.protocol.payload.SessionAttach;
import io.agentd.protocol.payload.SessionInfo;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What the agent keeps for sessions with no host, with small limits: a 2 KiB buffer per session, 16 KiB
 * (four 4 KiB chunks) over all, and exits kept for 1 s; and the keep policy on a socket, which detaches every session.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SessionRetentionE2ETest {
    private static final int BUFFER = 2048;

    @RegisterExtension
    static final SharedAgent agent = new SharedAgent("session-retention", "--session-buffer", Integer.toString(BUFFER),
            "--session-buffer-total", "16k", "--retain-exited", "1", "--on-host-loss", "keep");

    /** Waits until the session shows as exited in the list; returns its entry. */
    private static SessionInfo awaitExited(long number) throws Exception {
        long deadline = System.nanoTime() + HostConnection.TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            try (HostConnection host = agent.connectReady()) {
                SessionInfo info = find(list(host, 3), number);
                assertNotNull(info, "session " + number + " forgotten before it was seen exited");
                if (info.state().equals(SessionInfo.EXITED)) {
                    return info;
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("session " + number + " did not exit");
    }

    @Test
    void pastTheBufferTheOldestBytesGoAndTheAttachSaysHowManyWereMissed() throws Exception {
        long number;
        try (HostConnection first = agent.connectReady()) {
            // 10000 bytes: five lines of 2000 ('a'..'e' x 1999 and a newline), with no host reading them.
            number = startDetached(first, 5, Requests.sh(
                    "sleep 0.3; for c in a b c d e; do printf '%1999s' | tr ' ' $c; echo; done; exit 4"));
        }
        SessionInfo exited = awaitExited(number);
        assertEquals(10_000, exited.bytesOut());
        assertEquals(4, exited.exitCode());
        assertEquals(exited.bytesOut(), exited.retainedEnd());
        assertEquals(exited.retainedStart(), exited.dropped(), "everything before the kept bytes was dropped");
        assertTrue(exited.retainedEnd() - exited.retainedStart() <= BUFFER, exited.toString());
        assertTrue(exited.retainedEnd() - exited.retainedStart() >= BUFFER - 64, exited.toString());
        try (HostConnection host = agent.connectReady()) {
            SessionsE2ETest.Attach a = attachToEnd(host, 7, number, 0L);
            assertEquals(exited.retainedStart(), a.attached().from());
            assertEquals(exited.retainedStart(), a.attached().missed());
            String expected = ("a".repeat(1999) + "\n" + "b".repeat(1999) + "\n" + "c".repeat(1999) + "\n"
                    + "d".repeat(1999) + "\n" + "e".repeat(1999) + "\n").substring((int) exited.retainedStart());
            assertEquals(expected, a.stdout());
            assertEquals(4, a.exited().code());
        }
    }

    @Test
    void anExitNobodyAttachesToIsForgottenAfterTheRetention() throws Exception {
        long number;
        try (HostConnection first = agent.connectReady()) {
            // It exits after its host left: an exit delivered to an attached host is collected at once.
            number = startDetached(first, 5, Requests.sh("sleep 0.5; exit 2"));
        }
        assertEquals(2, awaitExited(number).exitCode());
        long deadline = System.nanoTime() + HostConnection.TIMEOUT.toNanos();
        while (true) {
            try (HostConnection host = agent.connectReady()) {
                if (find(list(host, 3), number) == null) {
                    host.send(new Frame(4, MessageType.SESSION_ATTACH, new SessionAttach(number, null, false)));
                    assertTrue(host.expectError(4, "invalid_session").message().contains("already collected"));
                    return;
                }
            }
            assertTrue(System.nanoTime() < deadline, "still listed long after --retain-exited 1");
            Thread.sleep(100);
        }
    }

    @Test
    void underTheKeepPolicyAPlainSessionIsKeptFromWhereItsHostLeft() throws Exception {
        long pid;
        try (HostConnection first = agent.connectReady()) {
            first.exec(5, Requests.sh("printf before; read x; printf after; exit 6"));
            pid = ((ExecStarted) first.expect(5, MessageType.EXEC_STARTED).payload()).pid();
            first.expect(5, MessageType.EXEC_STDOUT);
        }
        try (HostConnection second = agent.connectReady()) {
            SessionInfo kept = list(second, 3).stream().filter(s -> s.pid() == pid).findFirst().orElseThrow();
            assertFalse(kept.detachable());
            assertFalse(kept.attached());
            assertEquals(6, kept.retainedStart(), "kept from where its host left: after \"before\"");
            second.send(new Frame(4, MessageType.SESSION_ATTACH, new SessionAttach(kept.session(), 0L, false)));
            var attached = (io.agentd.protocol.payload.SessionAttached) second.expect(4, MessageType.SESSION_ATTACHED)
                    .payload();
            assertEquals(6, attached.from());
            assertEquals(6, attached.missed());
            second.stdin(4, "x\n".getBytes());
            assertEquals("after", new String(((io.agentd.protocol.payload.ExecData) second.expect(4,
                    MessageType.EXEC_STDOUT).payload()).data()));
            assertEquals(6, ((io.agentd.protocol.payload.ExecExited) second.expect(4, MessageType.EXEC_EXITED)
                    .payload()).code());
        }
    }

    @Test
    void theTotalCapHoldsOverManySessions() throws Exception {
        long[] numbers = new long[6];
        try (HostConnection first = agent.connectReady()) {
            for (int i = 0; i < numbers.length; i++) {
                numbers[i] = startDetached(first, 10 + i, ExecRequest.of("sh", "-c",
                        "head -c 3000 /dev/zero; sleep 30"));
            }
        }
        long deadline = System.nanoTime() + HostConnection.TIMEOUT.toNanos();
        while (true) {
            long kept = 0;
            long out = 0;
            try (HostConnection host = agent.connectReady()) {
                java.util.List<SessionInfo> snapshot = list(host, 3); // one list: the rings move together
                for (long n : numbers) {
                    SessionInfo s = find(snapshot, n);
                    kept += s.retainedEnd() - s.retainedStart();
                    out += s.bytesOut();
                }
                if (out == 6 * 3000L) {
                    // Each ring keeps its last 2 KiB in one 4 KiB chunk, charged whole with its run and
                    // tables: the 16 KiB total holds three such rings, not six.
                    long ringsTheTotalHolds = 16384 / (io.agentd.agent.session.retain.OutputRing.CHUNK + 128);
                    assertTrue(kept <= ringsTheTotalHolds * BUFFER, "kept " + kept + " over the 16 KiB total");
                    for (int i = 0; i < numbers.length; i++) {
                        host.send(new Frame(20 + i, MessageType.SESSION_ATTACH,
                                new SessionAttach(numbers[i], null, false)));
                        host.expect(20 + i, MessageType.SESSION_ATTACHED);
                        host.send(new Frame(20 + i, MessageType.EXEC_SIGNAL,
                                new io.agentd.protocol.payload.ExecSignal(9)));
                    }
                    for (int i = 0; i < numbers.length; i++) {
                        Frame f;
                        while ((f = host.next(20 + i)).type() != MessageType.EXEC_EXITED) {
                            assertNull(f.type() == MessageType.CORE_ERROR ? f : null);
                        }
                    }
                    return;
                }
            }
            assertTrue(System.nanoTime() < deadline, "the sessions did not write their output");
            Thread.sleep(50);
        }
    }
}
