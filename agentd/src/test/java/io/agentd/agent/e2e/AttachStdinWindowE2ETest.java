package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ExecSignal;
import io.agentd.protocol.payload.ExecStdinError;
import io.agentd.protocol.payload.SessionAttach;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * An attacher that asks stdin_window is granted a window after the kept output, also when the
 * session's stdin is closed already: its data is then refused EPIPE at once, as a host's without flow
 * control is (found by a read-only review: it was granted nothing and told nothing, and a
 * flow-controlled writer, which sends nothing before credit, waited for as long as the session ran).
 * One that sends nothing (an attach forwarding no input) is told nothing.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AttachStdinWindowE2ETest {
    @RegisterExtension
    static final SharedAgent agent = new SharedAgent("attach-stdin-window");

    @Test
    void anAttacherToASessionWhoseStdinIsClosedIsGrantedAWindowAndItsDataRefused() throws Exception {
        try (HostConnection second = attachedTo(detachedSleep(true))) {
            awaitCredit(second);
            assertNull(second.nextOrNull(4, Duration.ofMillis(300)),
                    "nothing said to an attacher that sends no input: " + second.arrivals(4));
            second.stdin(4, "late".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            Frame error = second.nextOrNull(4, Duration.ofSeconds(10));
            assertNotNull(error, "its data neither taken nor refused: " + second.arrivals(4));
            assertEquals(MessageType.EXEC_STDIN_ERROR, error.type(), second.arrivals(4).toString());
            ExecStdinError e = (ExecStdinError) error.payload();
            assertEquals("EPIPE", e.errnoName(), e.toString());
            assertTrue(e.message().contains("stdin is closed"), e.message());
            second.send(new Frame(4, MessageType.EXEC_SIGNAL, new ExecSignal(9)));
            second.expect(4, MessageType.EXEC_EXITED);
        }
    }

    @Test
    void anAttacherToASessionWhoseStdinIsOpenIsGrantedAWindow() throws Exception {
        try (HostConnection second = attachedTo(detachedSleep(false))) {
            awaitCredit(second);
            assertNull(second.nextOrNull(4, Duration.ofMillis(300)), "no refusal: " + second.arrivals(4));
            second.send(new Frame(4, MessageType.EXEC_SIGNAL, new ExecSignal(9)));
            second.expect(4, MessageType.EXEC_EXITED);
        }
    }

    /** Waits up to 10 s for stdin credit on the attach's id 4. */
    private static void awaitCredit(HostConnection host) throws InterruptedException {
        for (long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                host.creditGranted(4) == 0 && System.nanoTime() < deadline; ) {
            Thread.sleep(10);
        }
        assertTrue(host.creditGranted(4) > 0, "no credit: " + host.arrivals(4));
    }

    /** A detachable {@code sleep 30} detached by its host, its stdin closed first when asked; its number. */
    private static long detachedSleep(boolean closeStdinFirst) throws Exception {
        try (HostConnection first = agent.connectReady()) {
            long number = SessionsE2ETest.startDetached(first, 5, Requests.sh("sleep 30"));
            if (closeStdinFirst) {
                first.stdin(5, new byte[0]); // the end of input: the child's stdin is closed
            }
            first.send(new Frame(5, MessageType.SESSION_DETACH, Empty.INSTANCE));
            first.expect(5, MessageType.SESSION_DETACHED);
            return number;
        }
    }

    private static HostConnection attachedTo(long number) throws Exception {
        HostConnection second = agent.connectReady();
        second.send(new Frame(4, MessageType.SESSION_ATTACH, new SessionAttach(number, null, true)));
        second.expect(4, MessageType.SESSION_ATTACHED);
        return second;
    }
}
