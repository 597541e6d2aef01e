package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.ExecRequest;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * An OutputListener that calls back into its own connection and would wait there: the wait is
 * refused with IllegalStateException, instead of holding up the connection's one reader thread
 * (and with it every session) for its timeout, or for ever.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(SharedAgent.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ListenerCallbackTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final Duration FOREVER = ChronoUnit.FOREVER.getDuration();

    private AgentClient client;

    @BeforeAll
    void connect(AgentdProcess agentd) throws Exception {
        client = agentd.connect();
    }

    @AfterAll
    void disconnect() {
        if (client != null) {
            client.close();
        }
    }

    /** Runs {@code call} in the listener of a session that prints one line; returns what it threw. */
    private Throwable inListener(ThrowingRunnable call) throws Exception {
        List<Throwable> thrown = new CopyOnWriteArrayList<>();
        ExecSession s = client.start(ExecRequest.of("echo", "x"), out -> {
            try {
                call.run();
                thrown.add(new AssertionError("returned"));
            } catch (Throwable t) {
                thrown.add(t);
            }
        });
        assertEquals(0, s.awaitExit(WAIT).code());
        assertEquals(1, thrown.size());
        return thrown.get(0);
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    @Test
    void writingStdinPastTheCreditFromAListenerIsRefusedAndTheConnectionGoesOn() throws Exception {
        assertTrue(client.agentGrantsStdinCredit());
        ExecSession deaf = client.start(ExecRequest.of("sleep", "60")); // never reads its stdin
        deaf.awaitStarted(WAIT);
        Throwable t = inListener(() -> deaf.writeStdin(new byte[16 << 20]));
        assertTrue(t instanceof IllegalStateException, t.toString());
        assertTrue(t.getMessage().contains("reader thread"), t.getMessage());
        client.ping(WAIT); // the reader is not stuck
        deaf.signal(9);
        deaf.awaitExit(WAIT);
    }

    @Test
    void waitingForAReplyOrAnExitFromAListenerIsRefused() throws Exception {
        ExecSession sleeper = client.start(ExecRequest.of("sleep", "60"));
        sleeper.awaitStarted(WAIT);
        for (ThrowingRunnable wait : List.<ThrowingRunnable>of(
                () -> client.ping(FOREVER),
                () -> sleeper.awaitExit(FOREVER),
                () -> sleeper.nextOutput(FOREVER),
                () -> client.files().stat("/"),
                () -> client.run(ExecRequest.of("true"), FOREVER))) {
            Throwable t = inListener(wait);
            assertTrue(t instanceof IllegalStateException, t.toString());
        }
        sleeper.signal(9);
        assertEquals(9, sleeper.awaitExit(WAIT).signal());
    }

    /** Only the reader thread could fill the other session's stream: the read would wait for ever. */
    @Test
    void readingAnotherSessionsStreamFromAListenerIsRefusedAndTheConnectionGoesOn() throws Exception {
        ExecSession quiet = client.startWithStreams(ExecRequest.of("sleep", "60"));
        quiet.awaitStarted(WAIT);
        for (ThrowingRunnable read : List.<ThrowingRunnable>of(
                () -> quiet.stdout().read(),
                () -> quiet.stderr().read(new byte[10], 0, 10))) {
            Throwable t = inListener(read);
            assertTrue(t instanceof IllegalStateException, t.toString());
            assertTrue(t.getMessage().contains("session " + quiet.id() + "'s std"), t.getMessage());
        }
        client.ping(WAIT); // the reader is not stuck
        quiet.signal(9);
        assertEquals(9, quiet.awaitExit(WAIT).signal());
        assertEquals(-1, quiet.stdout().read(), "the streams still work off the reader thread");
    }
}
