package io.agentd.agent.e2e;

import static io.agentd.agent.e2e.Requests.sh;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecExited;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecResize;
import io.agentd.protocol.payload.ExecSignal;
import io.agentd.protocol.payload.ExecStdinError;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Stdin, stdout and stderr of real sessions through a running agent, many at once. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SessionStreamsE2ETest {
    @RegisterExtension
    static final SharedAgent agent = new SharedAgent("streams");
    private HostConnection host;

    @BeforeEach
    void connect(HostConnection host) {
        this.host = host;
    }

    @Test
    void stdoutStderrAndExitCodeOfASimpleCommand() throws Exception {
        SessionResult r = host.run(1, sh("echo out; echo err >&2; exit 3"));
        assertEquals("out\n", r.out());
        assertEquals("err\n", r.err());
        assertEquals(3, r.code());
        assertNull(r.exited().signal());
        assertNull(r.exited().timedOut());
        assertTrue(r.pid() > 1);
    }

    @Test
    void megabyteOfStdinThroughCatComesBackByteIdentical() throws Exception {
        byte[] input = new byte[1 << 20];
        new Random(42).nextBytes(input);
        host.exec(2, ExecRequest.of("cat"));
        for (int off = 0; off < input.length; off += 64 * 1024) {
            host.stdin(2, Arrays.copyOfRange(input, off, Math.min(input.length, off + 64 * 1024)));
        }
        host.stdin(2, new byte[0]);
        SessionResult r = host.collect(2, HostConnection.TIMEOUT);
        assertEquals(0, r.code());
        assertEquals(input.length, r.stdout().length);
        assertArrayEquals(sha256(input), sha256(r.stdout()));
        assertTrue(r.stdinErrors().isEmpty(), r.stdinErrors().toString());
    }

    @Test
    void chunkedStdinThenEofArrivesInOrder() throws Exception {
        host.exec(3, ExecRequest.of("cat"));
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        for (int i = 0; i < 200; i++) {
            byte[] chunk = ("chunk " + i + ";").getBytes(StandardCharsets.UTF_8);
            expected.write(chunk);
            host.stdin(3, chunk);
        }
        host.stdin(3, new byte[0]);
        SessionResult r = host.collect(3, HostConnection.TIMEOUT);
        assertEquals(0, r.code());
        assertEquals(expected.toString(StandardCharsets.UTF_8), r.out());
    }

    /** More stdin than a pipe holds for a child that reads 16 bytes and exits: EPIPE, then exited 0. */
    @Test
    void childThatReadsSixteenBytesGivesStdinErrorEpipeAndExitsZero() throws Exception {
        host.exec(4, sh("head -c 16 > /dev/null; echo took16"));
        byte[] chunk = new byte[64 * 1024];
        for (int i = 0; i < 16; i++) {
            host.stdin(4, chunk);
        }
        SessionResult r = host.collect(4, HostConnection.TIMEOUT);
        assertEquals(0, r.code());
        assertEquals("took16\n", r.out());
        // One for the write that failed, and one per stdin frame that arrived after it.
        assertFalse(r.stdinErrors().isEmpty());
        for (ExecStdinError e : r.stdinErrors()) {
            assertEquals(32, e.errno());
            assertEquals("EPIPE", e.errnoName());
        }
    }

    /** Every byte of a child that writes 64 KiB and exits at once arrives before exited, 1000 times. */
    @Test
    void thousandRunsOf64KiBEachArriveWholeBeforeExited() throws Exception {
        int runs = 1000;
        int inFlight = 16;
        long started = System.nanoTime();
        long nextId = 10_000;
        List<Long> pending = new ArrayList<>();
        int done = 0;
        while (done < runs) {
            while (pending.size() < inFlight && done + pending.size() < runs) {
                host.exec(nextId, ExecRequest.of("head", "-c", "65536", "/dev/zero"));
                pending.add(nextId++);
            }
            long id = pending.remove(0);
            SessionResult r = host.collect(id, HostConnection.TIMEOUT);
            assertEquals(0, r.code(), "session " + id);
            assertEquals(65536, r.stdout().length, "session " + id);
            done++;
        }
        System.out.printf("1000 x 64 KiB: %d ms%n", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
    }

    @Test
    void twelveConcurrentSessionsExitWith20To31() throws Exception {
        for (int code = 20; code <= 31; code++) {
            host.exec(100 + code, sh("sleep 0.2; exit " + code));
        }
        for (int code = 20; code <= 31; code++) {
            SessionResult r = host.collect(100 + code, HostConnection.TIMEOUT);
            assertEquals(code, r.code(), "session " + (100 + code));
        }
    }

    @Test
    void twoHundredConcurrentSessionsAllReport() throws Exception {
        int n = 200;
        for (int i = 0; i < n; i++) {
            host.exec(1000 + i, sh("sleep 0.5; echo s" + i + "; exit " + (i % 100)));
        }
        for (int i = 0; i < n; i++) {
            SessionResult r = host.collect(1000 + i, HostConnection.TIMEOUT);
            assertEquals(i % 100, r.code(), "session " + (1000 + i));
            assertEquals("s" + i + "\n", r.out(), "session " + (1000 + i));
        }
    }

    /** 10 MiB of stdin queued for a child that never reads delays neither another session nor ping. */
    @Test
    void stdinQueuedForAChildThatNeverReadsDelaysNothingElse() throws Exception {
        host.exec(20, ExecRequest.of("sleep", "60"));
        host.expect(20, MessageType.EXEC_STARTED);
        byte[] mib = new byte[1 << 20];
        for (int i = 0; i < 10; i++) {
            host.stdin(20, mib);
        }
        long t0 = System.nanoTime();
        host.send(new Frame(21, MessageType.CORE_PING, Empty.INSTANCE));
        host.expect(21, MessageType.CORE_PONG);
        host.exec(22, ExecRequest.of("echo", "B"));
        SessionResult b = host.collect(22, HostConnection.TIMEOUT);
        long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertEquals("B\n", b.out());
        assertTrue(elapsedMs < 5000, "ping and session B took " + elapsedMs + " ms");
        assertTrue(host.nothingMore(20, Duration.ofMillis(100)), "no stdin.error: 10 MiB is within the bound");
        host.send(new Frame(20, MessageType.EXEC_SIGNAL, new ExecSignal(9)));
        SessionResult a = host.collect(20, HostConnection.TIMEOUT);
        assertEquals(137, a.code());
        assertEquals(1, a.stdinErrors().size(), "the queued stdin is reported undelivered");
        assertEquals("EPIPE", a.stdinErrors().get(0).errnoName());
    }

    @Test
    void missingCommandFailsWithNotFound() throws Exception {
        SessionResult r = host.run(30, ExecRequest.of("/no/such/program"));
        assertEquals("not_found", r.failed().kind());
        assertEquals("ENOENT", r.failed().errnoName());
    }

    @Test
    void execRequestOnALiveIdIsRefusedAndTheRunningSessionIsUntouched() throws Exception {
        host.exec(31, ExecRequest.of("cat"));
        host.expect(31, MessageType.EXEC_STARTED);
        host.exec(31, ExecRequest.of("echo", "intruder"));
        host.expectError(31, "invalid_session");
        host.stdin(31, "still here".getBytes(StandardCharsets.UTF_8));
        host.stdin(31, new byte[0]);
        SessionResult r = host.collect(31, HostConnection.TIMEOUT);
        assertEquals("still here", r.out());
        assertEquals(0, r.code());
    }

    @Test
    void stdinAfterEndOfInputIsRefusedWithStdinError() throws Exception {
        host.exec(32, sh("cat; sleep 0.3"));
        host.stdin(32, new byte[0]);
        host.stdin(32, "late".getBytes(StandardCharsets.UTF_8));
        SessionResult r = host.collect(32, HostConnection.TIMEOUT);
        assertEquals(0, r.code());
        assertEquals(1, r.stdinErrors().size());
        assertEquals("EPIPE", r.stdinErrors().get(0).errnoName());
    }

    @Test
    void ptySessionRunsOnATerminalAndResizes() throws Exception {
        host.exec(33, Requests.tty("sh", "-c", "stty size; read line; stty size; echo got:$line"));
        host.expect(33, MessageType.EXEC_STARTED);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        readPtyUntil(33, out, "24 80");
        host.send(new Frame(33, MessageType.EXEC_RESIZE, new ExecResize(40, 132)));
        host.stdin(33, "hello\r".getBytes(StandardCharsets.UTF_8));
        readPtyUntil(33, out, null);
        String text = out.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("40 132"), text);
        assertTrue(text.contains("got:hello"), text);
    }

    /** exec.request refuses a PTY of no rows or columns; a resize to one is refused the same way. */
    @Test
    void aResizeToNoRowsOrNoColumnsIsRefusedAndTheSizeKept() throws Exception {
        host.exec(36, Requests.tty("sh", "-c", "read line; stty size"));
        host.expect(36, MessageType.EXEC_STARTED);
        host.send(new Frame(36, MessageType.EXEC_RESIZE, new ExecResize(0, 0)));
        assertTrue(host.expectError(36, "invalid_payload").message().contains("rows is 0"));
        host.send(new Frame(36, MessageType.EXEC_RESIZE, new ExecResize(30, 0)));
        assertTrue(host.expectError(36, "invalid_payload").message().contains("cols is 0"));
        host.stdin(36, "go\r".getBytes(StandardCharsets.UTF_8));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        readPtyUntil(36, out, null);
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("24 80"), out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void ptySessionDeliversAFastWritersWholeOutputBeforeExited() throws Exception {
        SessionResult r = host.run(35, Requests.tty("head", "-c", "1048576", "/dev/zero"));
        assertEquals(0, r.code());
        assertEquals(1 << 20, r.stdout().length);
    }

    /**
     * A command that lets go of its terminal's 0, 1 and 2 and later opens /dev/tty (a password
     * prompt, as ssh and gpg do) is heard: while no process held the slave, the master read EIO,
     * which was taken for the end of output, and what it wrote to /dev/tty, and the echo of what it
     * read there, never reached the host. The agent now holds the slave itself until the leader exits.
     */
    @Test
    void ptySessionHearsACommandThatClosedItsTerminalAndOpensDevTty() throws Exception {
        host.exec(37, Requests.tty("sh", "-c", "exec </dev/null >/dev/null 2>&1; sleep 0.3;"
                + " printf 'Password: ' >/dev/tty; read -r pw </dev/tty; echo \"got $pw\" >/dev/tty"));
        host.expect(37, MessageType.EXEC_STARTED);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        readPtyUntil(37, out, "Password: ");
        host.stdin(37, "secret\r".getBytes(StandardCharsets.UTF_8));
        readPtyUntil(37, out, null);
        String text = out.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("Password: secret"), "the prompt and the echo: " + text);
        assertTrue(text.contains("got secret"), text);
    }

    /** Reads a PTY session's stdout until {@code marker} shows up, or (marker null) to exited 0. */
    private void readPtyUntil(long id, ByteArrayOutputStream out, String marker) throws Exception {
        while (marker == null || !out.toString(StandardCharsets.UTF_8).contains(marker)) {
            Frame f = host.next(id);
            if (f.type() == MessageType.EXEC_EXITED) {
                assertEquals(null, marker, "exited before " + marker + " in " + out);
                assertEquals(0, ((ExecExited) f.payload()).code());
                return;
            }
            assertEquals(MessageType.EXEC_STDOUT, f.type(), "a PTY sends everything as stdout");
            out.writeBytes(((ExecData) f.payload()).data());
        }
    }

    @Test
    void resizeOfAPipeSessionIsInvalidPayload() throws Exception {
        host.exec(34, ExecRequest.of("sleep", "5"));
        host.expect(34, MessageType.EXEC_STARTED);
        host.send(new Frame(34, MessageType.EXEC_RESIZE, new ExecResize(40, 132)));
        host.expectError(34, "invalid_payload");
        host.send(new Frame(34, MessageType.EXEC_SIGNAL, new ExecSignal(15)));
        assertEquals(143, host.collect(34, HostConnection.TIMEOUT).code());
    }

    private static byte[] sha256(byte[] data) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(data);
    }
}
