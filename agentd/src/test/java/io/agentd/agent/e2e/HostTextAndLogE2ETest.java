package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecSignal;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Host text in answers and logs is quoted short, every session gets its terminal frame however long
 * its request, stdin refusals are logged at a bounded rate, and a host that leaves in the middle of
 * a frame is logged with what was cut.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class HostTextAndLogE2ETest {
    @RegisterExtension
    static final SharedAgent agent = new SharedAgent("host-text");

    private static int longestLogLine() {
        return agent.process().logText().lines().mapToInt(String::length).max().orElse(0);
    }

    @Test
    void aFourMegabyteCmdIsAnsweredWithAShortFailed(HostConnection host) throws Exception {
        String cmd = "/" + "a".repeat(4_194_103);
        host.exec(1, ExecRequest.of(cmd));
        SessionResult r = host.collect(1, HostConnection.TIMEOUT);
        assertNotNull(r.failed(), "failed, not " + r.exited());
        assertTrue(r.failed().message().length() < 1000, r.failed().message().length() + " chars");
        assertTrue(r.failed().message().contains("/aaaa"), r.failed().message().substring(0, 100));
        assertTrue(longestLogLine() < 2000, "longest log line: " + longestLogLine() + " chars");
        // logged as the failed request the host was answered with, not as a frame refused with core.error
        String log = agent.process().logText();
        assertTrue(log.lines().anyMatch(l -> l.contains(": session 1 failed: kind=bad_args") && l.contains("cmd=(not decoded)")),
                log);
        assertTrue(log.lines().noneMatch(l -> l.contains("refused frame id=1 type=\"core.exec.request\"")), log);
    }

    @Test
    void controlCharactersOfHostTextAreEscapedInTheLog(HostConnection host) throws Exception {
        SessionResult r = host.run(2, ExecRequest.of("/no/such\n2026-01-01 INFO forged line"));
        assertEquals("not_found", r.failed().kind());
        assertTrue(agent.process().logText().lines().noneMatch(l -> l.startsWith("2026-01-01 INFO forged")),
                agent.process().logText());
        assertTrue(agent.process().logText().contains("/no/such\\n2026-01-01"), agent.process().logText());
    }

    /**
     * A failed request's line says why, as its answer does: a user that does not exist is named, at
     * INFO (HostEventLog.levelOf).
     */
    @Test
    void aFailedRequestsLineSaysWhy(HostConnection host) throws Exception {
        ExecRequest asNobodyKnown = new ExecRequest("true", java.util.List.of(), java.util.List.of(), null,
                "no-such-user-x", false, 24, 80, java.util.List.of(), null);
        SessionResult r = host.run(5, asNobodyKnown);
        assertEquals("user_setup_failed", r.failed().kind(), r.failed().toString());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (agent.process().logText().lines().noneMatch(l -> l.contains("session 5 failed: kind=user_setup_failed"))
                && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        String line = agent.process().logText().lines().filter(l -> l.contains("session 5 failed: kind=user_setup_failed"))
                .findFirst().orElse("no line");
        assertTrue(line.contains("no-such-user-x"), line);
        assertTrue(line.matches(".* connection \\d+: session 5 failed: .*"), "names its connection: " + line);
        // the host's mistake, not the agent's: info, not a warning (a log review)
        assertTrue(line.matches("\\S+ INFO  PortLink: .*"), line);
    }

    @Test
    void stdinAfterTheEndOfInputIsAnsweredEveryTimeButLoggedAtABoundedRate(HostConnection host) throws Exception {
        host.exec(3, ExecRequest.of("sleep", "30"));
        host.expect(3, MessageType.EXEC_STARTED);
        host.stdin(3, new byte[0]);
        host.countStdinErrors(3);
        long before = agent.process().logText().lines().filter(l -> l.contains("stdin.error")).count();
        FrameEncoder encoder = new FrameEncoder();
        ByteArrayOutputStream frames = new ByteArrayOutputStream();
        for (int i = 0; i < 5000; i++) {
            frames.writeBytes(encoder.encode(new Frame(3, MessageType.EXEC_STDIN, new ExecData(new byte[] {'x'}))));
        }
        host.sendRaw(frames.toByteArray());
        long deadline = System.nanoTime() + HostConnection.TIMEOUT.toNanos();
        while (host.stdinErrorsCounted(3) < 5000 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(5000, host.stdinErrorsCounted(3), "each frame is answered");
        assertEquals("EPIPE", host.lastStdinErrorCounted(3).errnoName());
        long lines = agent.process().logText().lines().filter(l -> l.contains("stdin.error")).count() - before;
        assertTrue(lines <= 100, lines + " stdin.error lines for 5000 frames");
        host.send(new Frame(3, MessageType.EXEC_SIGNAL, new ExecSignal(9)));
        assertEquals(137, host.collect(3, HostConnection.TIMEOUT).code());
    }

    @Test
    void aHostThatLeavesInsideAFrameIsLoggedWithWhatWasDropped(HostConnection host) throws Exception {
        byte[] frame = new FrameEncoder().encode(new Frame(4, MessageType.EXEC_STDIN, new ExecData(new byte[100])));
        host.sendRaw(Arrays.copyOf(frame, 40)); // the 4-byte length, then 36 of the frame's bytes
        host.close();
        // "closed: end of input; ..." (or "hang-up; ...", had epoll said so before the read did)
        String expected = "; a frame cut short (36 of its " + (frame.length - 4) + " bytes after the length came) was dropped";
        String log = agent.process().awaitLog(expected);
        assertTrue(log.lines().anyMatch(l -> l.contains("closed: ") && l.contains(expected)), log);
    }
}
