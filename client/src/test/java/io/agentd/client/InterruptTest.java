package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.ExecRequest;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Interrupting a caller of the API ends that caller's wait and nothing else: the connection, and
 * every other session on it, goes on (a thread interrupted inside a socket write must not close the
 * socket, as NIO does to an interruptible channel).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(SharedAgent.class)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class InterruptTest {
    private static final Duration WAIT = Duration.ofSeconds(20);

    private AgentdProcess agentd;
    private AgentClient client;

    @BeforeAll
    void shareTheAgent(AgentdProcess shared) {
        agentd = shared;
    }

    /** A connection per test: one that a test broke must not fail the next. */
    @BeforeEach
    void connect() throws Exception {
        client = agentd.connect();
    }

    @AfterEach
    void disconnect() {
        client.close();
    }

    @Test
    void aCallerWithItsInterruptFlagSetStillSendsAndKeepsTheConnection() throws Exception {
        ExecSession sleeper = client.start(ExecRequest.of("sleep", "60"));
        sleeper.awaitStarted(WAIT);
        Thread.currentThread().interrupt();
        try {
            sleeper.signal(9); // what cleanup after an InterruptedException does, flag still set
        } finally {
            assertTrue(Thread.interrupted(), "the flag is left set for the caller");
        }
        assertEquals(9, sleeper.awaitExit(WAIT).signal());
        assertTrue(client.isOpen(), "the connection survives the interrupted caller");
        client.ping(WAIT);
    }

    @Test
    void interruptingAThreadThatPumpsStdinStopsOnlyThatThread() throws Exception {
        ExecSession sink = client.start(ExecRequest.of("sh", "-c", "cat >/dev/null"));
        sink.awaitStarted(WAIT);
        AtomicLong sent = new AtomicLong();
        Thread pump = new Thread(() -> {
            byte[] chunk = new byte[FrameWriter.DATA_CHUNK_BYTES];
            try {
                while (true) {
                    sink.writeStdin(chunk);
                    sent.addAndGet(chunk.length);
                }
            } catch (InterruptedIOException e) {
                // what the interrupt should end
            } catch (Exception e) {
                throw new AssertionError("the pump failed with something other than the interrupt", e);
            }
        });
        pump.start();
        // Interrupt it while it is busy writing (it writes for most of its time: the sink reads fast).
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (sent.get() < (64L << 20) && System.nanoTime() < until) {
            Thread.sleep(5);
        }
        while (pump.isAlive()) {
            pump.interrupt();
            pump.join(10);
        }
        assertTrue(client.isOpen(), "the connection survives the interrupt, wherever it landed");
        sink.closeStdin();
        assertEquals(0, sink.awaitExit(WAIT).code(), "the session goes on and ends normally");
        client.ping(WAIT);
    }

    @Test
    void interruptingRunKillsItsSessionAndLeavesTheConnectionOpen() throws Exception {
        Thread caller = Thread.currentThread();
        Thread interrupter = new Thread(() -> {
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                return;
            }
            caller.interrupt();
        });
        interrupter.start();
        String marker = "run-interrupt-" + System.nanoTime(); // pgrep's pattern [r]un... does not match its own shell
        assertThrows(InterruptedException.class,
                () -> client.run(ExecRequest.of("sh", "-c", "sleep 60; : " + marker), WAIT));
        interrupter.join();
        assertTrue(client.isOpen());
        // The interrupted run's process must not live on in the guest.
        long deadline = System.nanoTime() + WAIT.toNanos();
        String left;
        do {
            left = client.run(ExecRequest.of("sh", "-c", "pgrep -f '[r]" + marker.substring(1) + "' || true"), WAIT).stdoutText();
        } while (!left.isBlank() && System.nanoTime() < deadline && sleep());
        assertEquals("", left.strip(), "no process of the interrupted run is left");
    }

    @Test
    void connectingWithTheInterruptFlagSetThrowsInterruptedException() {
        Thread.currentThread().interrupt();
        try {
            InterruptedException e = assertThrows(InterruptedException.class,
                    () -> AgentClient.connect(agentd.socket, WAIT));
            assertTrue(e.getMessage().contains(agentd.socket.toString()), e.getMessage());
        } finally {
            Thread.interrupted();
        }
    }

    private static boolean sleep() throws InterruptedException {
        Thread.sleep(50);
        return true;
    }
}
