package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecSignal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Stdin queued for children that do not read is bounded per session and over all sessions, so many
 * sessions cannot make the agent's memory grow without bound. Agent: 1 MiB per session, 2 MiB total.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StdinBoundsE2ETest {
    @RegisterExtension
    static final SharedAgent agent = new SharedAgent("stdin-bounds", "--stdin-limit", "1m", "--stdin-total", "2m");

    @Test
    void stdinOverTheTotalBoundIsRefusedWithEnobufsAndTheSessionGoesOn(HostConnection host) throws Exception {
        byte[] almostMib = new byte[(1 << 20) - 1024];
        for (long id = 1; id <= 3; id++) {
            host.exec(id, ExecRequest.of("sleep", "60"));
            host.expect(id, MessageType.EXEC_STARTED);
            host.stdin(id, almostMib);
        }
        // Sessions 1 and 2 fill the total (the pipe takes at most 64 KiB of each); 3 is refused.
        for (long id = 1; id <= 3; id++) {
            host.send(new Frame(id, MessageType.EXEC_SIGNAL, new ExecSignal(9)));
        }
        SessionResult third = host.collect(3, HostConnection.TIMEOUT);
        assertEquals(137, third.code(), "the refused session still runs until killed");
        assertTrue(third.stdinErrors().stream().anyMatch(e -> "ENOBUFS".equals(e.errnoName())
                        && e.message().contains("all sessions")),
                "session 3 is told the agent's stdin queues are full: " + third.stdinErrors());
        for (long id = 1; id <= 2; id++) {
            SessionResult r = host.collect(id, HostConnection.TIMEOUT);
            assertTrue(r.stdinErrors().stream().noneMatch(e -> "ENOBUFS".equals(e.errnoName())),
                    "session " + id + " was within both bounds: " + r.stdinErrors());
        }
    }

    @Test
    void stdinOverTheSessionBoundIsRefusedWithEnobufs(HostConnection host) throws Exception {
        host.exec(10, ExecRequest.of("sleep", "60"));
        host.expect(10, MessageType.EXEC_STARTED);
        host.stdin(10, new byte[1 << 20]);
        host.stdin(10, new byte[(1 << 20) + (256 << 10)]);
        host.send(new Frame(10, MessageType.EXEC_SIGNAL, new ExecSignal(9)));
        SessionResult r = host.collect(10, HostConnection.TIMEOUT);
        assertTrue(r.stdinErrors().stream().anyMatch(e -> "ENOBUFS".equals(e.errnoName())
                        && e.message().contains("stdin queue full")),
                "the session's own bound refuses the second frame: " + r.stdinErrors());
    }

    @Test
    void stdinRefusedForSpaceStaysRefusedSoTheChildReadsAPrefix(HostConnection host) throws Exception {
        Path received = Files.createTempFile(agent.process().dir(), "received", ".bin");
        host.exec(20, ExecRequest.of("sh", "-c", "sleep 2; cat > " + received));
        host.expect(20, MessageType.EXEC_STARTED);
        byte[] sent = new byte[4 << 20];
        new Random(5).nextBytes(sent);
        int frame = 64 * 1024;
        int half = sent.length / 2;
        for (int off = 0; off < half; off += frame) {
            host.stdin(20, Arrays.copyOfRange(sent, off, off + frame)); // past the 1 MiB queue: refused
        }
        Thread.sleep(3000); // the child has read the queue: there is room again
        for (int off = half; off < sent.length; off += frame) {
            host.stdin(20, Arrays.copyOfRange(sent, off, off + frame));
        }
        host.stdin(20, new byte[0]);
        SessionResult r = host.collect(20, HostConnection.TIMEOUT);
        assertEquals(0, r.code(), r.err());
        byte[] got = Files.readAllBytes(received);
        assertTrue(got.length >= 1 << 20 && got.length < half, "the queue's worth arrived: " + got.length);
        assertArrayEquals(Arrays.copyOf(sent, got.length), got, "what the child read is a prefix of what was sent");
        int refused = (sent.length - got.length) / frame;
        assertEquals(refused, r.stdinErrors().size(), "every frame after the first refusal is refused");
        assertTrue(r.stdinErrors().stream().allMatch(e -> "ENOBUFS".equals(e.errnoName())), r.stdinErrors().toString());
    }

    @Test
    void windowsShortOfBudgetAreServedAsOthersReleaseIt(HostConnection host) throws Exception {
        // Three windows of 1 MiB over a 2 MiB budget: the third starts with nothing and waits its turn.
        byte[] data = new byte[4 << 20];
        List<Thread> writers = new ArrayList<>();
        List<Throwable> failures = new CopyOnWriteArrayList<>();
        for (long id = 30; id < 33; id++) {
            host.exec(id, ExecRequest.of("sh", "-c", "sleep 1; wc -c").withStdinWindow(true));
            host.expect(id, MessageType.EXEC_STARTED);
        }
        for (long id = 30; id < 33; id++) {
            long session = id;
            Thread t = new Thread(() -> {
                try {
                    host.stdinWithinCredit(session, data, 100_000);
                    host.stdin(session, new byte[0]);
                } catch (Throwable e) {
                    failures.add(e);
                }
            });
            t.start();
            writers.add(t);
        }
        for (Thread t : writers) {
            t.join();
        }
        assertEquals(List.of(), failures);
        for (long id = 30; id < 33; id++) {
            SessionResult r = host.collect(id, HostConnection.TIMEOUT);
            assertEquals(String.valueOf(data.length), r.out().trim(), "session " + id);
            assertEquals(List.of(), r.stdinErrors(), "session " + id);
        }
    }
}
