package io.agentd.client.relay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The relay's log lines as an operator reads them (slf4j-simple writes to System.err, which each
 * test takes): what is rate-limited, and where the count of the lines left out goes.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RelayLogLinesTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;
    private final ByteArrayOutputStream log = new ByteArrayOutputStream();
    private PrintStream stderr;
    private ScriptedPort port;

    @BeforeEach
    void start() throws Exception {
        stderr = System.err;
        System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
        port = ScriptedPort.start(dir, WAIT);
    }

    @AfterEach
    void stop() throws Exception {
        try {
            port.close();
        } finally {
            System.setErr(stderr);
        }
    }

    private List<String> lines() {
        return log.toString(StandardCharsets.UTF_8).lines().toList();
    }

    /** The log's lines once one matches {@code until} (within {@code wait}), else an assertion error. */
    private List<String> linesOnce(Predicate<String> until, Duration wait, String what) throws InterruptedException {
        long deadline = System.nanoTime() + wait.toNanos();
        while (System.nanoTime() < deadline) {
            List<String> lines = lines();
            if (lines.stream().anyMatch(until)) {
                return lines;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no line " + what + " in " + wait + "; the log:\n" + log.toString(StandardCharsets.UTF_8));
    }

    /**
     * A burst of refusals from one client: one line, then the count of the rest on its own once
     * the 5 s are over, with nothing else happening. It was attached to the next refusal that got
     * a line, whenever that came and whichever client it named ("client 4 ... (2999 more since the
     * last such line)", the 2999 being client 0's).
     */
    @Test
    void theCountOfRefusalsLeftOutComesOnItsOwnWhenTheirIntervalIsOver() throws Exception {
        try (RawClient flooder = port.greetedClient()) {
            long foreign = IdRange.slot(5).start(); // outside client 0's range
            for (int i = 0; i < 300; i++) {
                flooder.send(new Frame(foreign, MessageType.CORE_PING, Empty.INSTANCE));
            }
            for (int i = 0; i < 300; i++) {
                assertEquals(MessageType.CORE_ERROR, flooder.receive().type());
            }
            List<String> lines = linesOnce(l -> l.contains("299 more refused client frames"), Duration.ofSeconds(9),
                    "counting the 299 refusals left out");
            assertEquals(1, lines.stream().filter(l -> l.contains(": refused ")).count(), String.join("\n", lines));
            try (RawClient other = port.greetedClient()) {
                other.send(new Frame(foreign, MessageType.CORE_PING, Empty.INSTANCE));
                assertEquals(MessageType.CORE_ERROR, other.receive().type());
                lines = linesOnce(l -> l.contains("client 1 ") && l.contains(": refused "), WAIT,
                        "of client 1's refusal");
                String second = lines.stream().filter(l -> l.contains("client 1 ") && l.contains(": refused "))
                        .findFirst().orElseThrow();
                assertFalse(second.contains("more"), "another client's count on its line: " + second);
            }
        }
    }

    /**
     * Clients that come and go one after another, as three agentctl runs in a row do: each gets its
     * "connected" and its departure line. Both were limited to one line per 5 s, so only the first
     * client showed, and a client dropped right after its "connected" never got a departure line.
     */
    @Test
    void eachClientThatComesAndGoesGetsItsConnectedAndItsDepartureLine() throws Exception {
        for (int i = 0; i < 3; i++) {
            try (RawClient c = port.greetedClient()) {
                if (i == 1) {
                    c.sendRaw(new byte[] {0, 0, 0, 1, 0, 0, 0, 1}); // a frame length no frame has: dropped
                }
            }
            port.receiveDeparture(IdRange.slot(i)); // its slot is not freed: the next client takes the next
        }
        List<String> lines = linesOnce(l -> l.contains("client 2 ") && l.contains("the agent is told"), WAIT,
                "of client 2's departure");
        for (int i = 0; i < 3; i++) {
            String name = "client " + i + " ";
            assertEquals(1, lines.stream().filter(l -> l.contains(name) && l.contains(" connected (")).count(),
                    name + "\n" + String.join("\n", lines));
            assertEquals(1, lines.stream().filter(l -> l.contains(name) && l.contains("the agent is told")).count(),
                    name + "\n" + String.join("\n", lines));
        }
        assertTrue(lines.stream().noneMatch(l -> l.contains(" more ")), String.join("\n", lines));
    }

    /** A relay stopped with clients connected says how many it closes: each "connected" has its end. */
    @Test
    void aRelayThatStopsWithClientsConnectedSaysItClosesThem() throws Exception {
        try (RawClient a = port.greetedClient(); RawClient b = port.greetedClient()) {
            linesOnce(l -> l.contains("client 1 ") && l.contains(" connected ("), WAIT, "of client 1's arrival");
            port.relay.close();
            linesOnce(l -> l.contains("closing the 2 client(s) still connected"), WAIT, "of the clients closed");
        }
    }
}
