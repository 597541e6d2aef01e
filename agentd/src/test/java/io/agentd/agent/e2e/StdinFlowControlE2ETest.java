package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecSignal;
import io.agentd.protocol.payload.Ready;
import io.agentd.protocol.Frame;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Stdin flow control (feature stdin_window): a host that sends only what it was granted is never
 * refused, whatever the child's pace, and the child reads exactly what was sent. Default window (1 MiB).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class StdinFlowControlE2ETest {
    private static final long WINDOW = 1 << 20;
    /** A session's first window (StdinWindow.FIRST_WINDOW): it grows as the child reads. */
    private static final long FIRST_WINDOW = 64 << 10;
    private static final int FRAME = 256 * 1024;

    @RegisterExtension
    static final SharedAgent agent = new SharedAgent("stdin-flow");

    private static ExecRequest withWindow(String... shellScript) {
        return ExecRequest.of("sh", "-c", String.join(" ", shellScript)).withStdinWindow(true);
    }

    @Test
    void readyListsTheStdinWindowFeature() throws Exception {
        try (HostConnection host = agent.process().connect()) {
            Ready ready = (Ready) host.expect(0, MessageType.CORE_READY).payload();
            assertTrue(ready.supports(Ready.FEATURE_STDIN_WINDOW), "features: " + ready.features());
        }
    }

    @Test
    void aSlowReaderGets64MibWithinTheWindowAndNothingIsRefused(HostConnection host) throws Exception {
        host.exec(1, withWindow("sleep 1; cat > /dev/null"));
        host.expect(1, MessageType.EXEC_STARTED);
        byte[] data = new byte[64 << 20];
        host.stdinWithinCredit(1, data, FRAME);
        host.stdin(1, new byte[0]);
        SessionResult r = host.collect(1, HostConnection.TIMEOUT);
        assertEquals(0, r.code(), r.err());
        assertEquals(List.of(), r.stdinErrors());
        List<MessageType> order = host.arrivals(1);
        assertEquals(MessageType.EXEC_STARTED, order.get(0), "no credit before started: " + order.subList(0, 3));
        assertEquals(MessageType.EXEC_STDIN_CREDIT, order.get(1), "the initial window right after started");
        assertEquals(MessageType.EXEC_EXITED, order.get(order.size() - 1), "no credit after exited");
        long creditFrames = order.stream().filter(t -> t == MessageType.EXEC_STDIN_CREDIT).count();
        // + 8: while the window grows from 64 KiB to WINDOW (four doublings), two grants each
        assertTrue(creditFrames <= data.length / (WINDOW / 2) + 2 + 8,
                creditFrames + " credit frames: one per half window, not one per write");
        assertTrue(host.creditGranted(1) <= data.length + WINDOW, "granted " + host.creditGranted(1));
    }

    @Test
    void theChildReadsExactlyWhatWasSentWithinTheWindow(HostConnection host) throws Exception {
        byte[] data = new byte[24 << 20];
        new Random(11).nextBytes(data);
        host.exec(2, withWindow("sleep 1; sha256sum"));
        host.expect(2, MessageType.EXEC_STARTED);
        host.stdinWithinCredit(2, data, 100_000);
        host.stdin(2, new byte[0]);
        SessionResult r = host.collect(2, HostConnection.TIMEOUT);
        assertEquals(0, r.code(), r.err());
        String expected = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        assertEquals(expected, r.out().split(" ")[0]);
        assertEquals(List.of(), r.stdinErrors());
    }

    @Test
    void aPtySessionIsGrantedCreditToo(HostConnection host) throws Exception {
        host.exec(3, new ExecRequest("sh", List.of("-c", "stty -echo; cat > /dev/null"), List.of(), null, null,
                true, 24, 80, List.of(), null, true));
        host.expect(3, MessageType.EXEC_STARTED);
        byte[] lines = new byte[3 * (int) WINDOW];
        java.util.Arrays.fill(lines, (byte) 'a');
        for (int i = 63; i < lines.length; i += 64) {
            lines[i] = '\n';
        }
        host.stdinWithinCredit(3, lines, 4096);
        // Three windows went through: the credit was topped up as cat read from the PTY.
        assertTrue(host.creditGranted(3) >= 3 * WINDOW, "granted " + host.creditGranted(3));
        host.send(new Frame(3, MessageType.EXEC_SIGNAL, new ExecSignal(9)));
        SessionResult r = host.collect(3, HostConnection.TIMEOUT);
        assertEquals(137, r.code());
    }

    @Test
    void aHostThatOverrunsItsCreditIsRefusedAndTheChildGetsNothingAfter(HostConnection host) throws Exception {
        host.exec(4, withWindow("sleep 4; wc -c"));
        host.expect(4, MessageType.EXEC_STARTED);
        // All the credit there is while the child sleeps: the first window, and what the pipe's
        // buffer takes of it comes back as more (the window grows), until nothing more comes.
        long sent = 0;
        do {
            long granted = host.creditGranted(4);
            host.stdinWithinCredit(4, new byte[(int) (granted - sent)], FRAME);
            sent = granted;
            Thread.sleep(300);
        } while (host.creditGranted(4) != sent);
        assertTrue(sent >= FIRST_WINDOW, "sent " + sent);
        host.stdin(4, new byte[10]); // past it: the child is asleep, no more credit came
        Thread.sleep(1500);
        host.stdin(4, new byte[10]); // refused too, though credit may have come since
        host.stdin(4, new byte[0]);
        SessionResult r = host.collect(4, HostConnection.TIMEOUT);
        assertEquals(String.valueOf(sent), r.out().trim(), "the child read what was within credit and nothing after");
        assertEquals(2, r.stdinErrors().size(), r.stdinErrors().toString());
        assertTrue(r.stdinErrors().stream().allMatch(e -> "ENOBUFS".equals(e.errnoName())), r.stdinErrors().toString());
        assertTrue(r.stdinErrors().get(0).message().contains("credit"), r.stdinErrors().get(0).message());
    }
}
