package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.ExecRequest;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/** Timeouts at the edges: "forever" written as the longest Duration, zero, negative (see {@link Timeouts}). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@ExtendWith(SharedAgent.class)
class TimeoutArgumentsTest {
    private static final Duration FOREVER = ChronoUnit.FOREVER.getDuration();
    private static final Duration LONGEST = Duration.ofSeconds(Long.MAX_VALUE, 999_999_999);

    @Test
    void nanosSaturateInsteadOfOverflowing() {
        assertEquals(Long.MAX_VALUE, Timeouts.nanos(FOREVER));
        assertEquals(Long.MAX_VALUE, Timeouts.nanos(LONGEST));
        assertEquals(0, Timeouts.nanos(Duration.ofSeconds(-5)));
        assertEquals(1_000_000_000L, Timeouts.nanos(Duration.ofSeconds(1)));
        assertEquals(Long.MAX_VALUE, Timeouts.deadline(Duration.ofNanos(Long.MAX_VALUE)), "no deadline, not a wrap");
        assertEquals(Long.MAX_VALUE, Timeouts.left(Long.MAX_VALUE));
        assertEquals(0, Timeouts.left(System.nanoTime() - 1));
        assertThrows(NullPointerException.class, () -> Timeouts.nanos(null));
    }

    @Test
    void everyCallTakesTheLongestDurationAsNoDeadline(AgentdProcess agentd) throws Exception {
        agentd.connect().close(); // the fixture waits for the socket
        try (AgentClient client = AgentClient.connect(agentd.socket, FOREVER)) {
            client.ping(FOREVER);
            assertEquals("hi\n", client.run(ExecRequest.of("cat"), "hi\n".getBytes(), LONGEST).stdoutText());
            ExecSession s = client.start(ExecRequest.of("echo", "out"));
            assertNotNull(s.nextOutput(FOREVER));
            assertEquals(0, s.awaitExit(FOREVER).code());
            assertTrue(client.files().withTimeout(FOREVER).stat("/").size() >= 0);
            client.close();
            assertTrue(client.awaitClosed(FOREVER));
        }
    }

    @Test
    void aZeroReadyTimeoutFailsNamingTheTimeoutGiven(AgentdProcess agentd) throws Exception {
        agentd.connect().close();
        TimeoutException e = assertThrows(TimeoutException.class,
                () -> AgentClient.connect(agentd.socket, Duration.ZERO));
        assertTrue(e.getMessage().contains("not ready within 0s"), e.getMessage());
    }

    /** Messages name a timeout as agentctl's options spell one, not as Duration.toString (PT1M). */
    @Test
    void aTimeoutIsShownInTheLargestUnitThatHoldsItWhole() {
        assertEquals("60s", Timeouts.text(Duration.ofMinutes(1)));
        assertEquals("1500ms", Timeouts.text(Duration.ofMillis(1500)));
        assertEquals("250us", Timeouts.text(Duration.ofNanos(250_000)));
        assertEquals("7ns", Timeouts.text(Duration.ofNanos(7)));
        assertEquals("0s", Timeouts.text(Duration.ZERO));
        assertEquals("0s", Timeouts.text(Duration.ofSeconds(-5)));
        assertEquals(Long.MAX_VALUE + "s", Timeouts.text(Duration.ofSeconds(Long.MAX_VALUE)));
    }
}
