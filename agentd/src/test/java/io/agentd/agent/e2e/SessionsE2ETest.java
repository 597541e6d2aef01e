package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecExited;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecStarted;
import io.agentd.protocol.payload.Ready;
import io.agentd.protocol.payload.SessionAttach;
import io.agentd.protocol.payload.SessionAttached;
import io.agentd.protocol.payload.SessionInfo;
import io.agentd.protocol.payload.SessionListResult;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Detach, list and re-attach (docs/PROTOCOL-EXTENSIONS.md, "Sessions") against a running agent on a
 * unix socket with the default kill policy: real processes, real connections closed under them.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SessionsE2ETest {
    @RegisterExtension
    static final SharedAgent agent = new SharedAgent("sessions");

    /** What an attach brought: its attached frame, the output (stdout and stderr in order), the exit. */
    record Attach(SessionAttached attached, String output, String stdout, String stderr, ExecExited exited) {}

    static long startDetached(HostConnection host, long id, ExecRequest request) throws Exception {
        host.exec(id, request.withDetachable(true));
        Frame started = host.expect(id, MessageType.EXEC_STARTED);
        Long number = ((ExecStarted) started.payload()).session();
        assertNotNull(number, "started carries the session number of a detachable request");
        return number;
    }

    /** Attaches on {@code id} and reads the session to its exit. */
    static Attach attachToEnd(HostConnection host, long id, long session, Long from) throws Exception {
        host.send(new Frame(id, MessageType.SESSION_ATTACH, new SessionAttach(session, from, false)));
        SessionAttached attached = (SessionAttached) host.expect(id, MessageType.SESSION_ATTACHED).payload();
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        while (true) {
            Frame f = host.next(id, HostConnection.TIMEOUT);
            switch (f.type()) {
                case EXEC_STDOUT, EXEC_STDERR -> {
                    byte[] data = ((ExecData) f.payload()).data();
                    all.writeBytes(data);
                    (f.type() == MessageType.EXEC_STDOUT ? out : err).writeBytes(data);
                }
                case EXEC_EXITED -> {
                    return new Attach(attached, all.toString(StandardCharsets.UTF_8), out.toString(StandardCharsets.UTF_8),
                            err.toString(StandardCharsets.UTF_8), (ExecExited) f.payload());
                }
                default -> throw new AssertionError("unexpected frame on attach id " + id + ": " + f);
            }
        }
    }

    static List<SessionInfo> list(HostConnection host, long id) throws Exception {
        host.send(new Frame(id, MessageType.SESSION_LIST, Empty.INSTANCE));
        return ((SessionListResult) host.expect(id, MessageType.SESSION_LIST_RESULT).payload()).sessions();
    }

    static SessionInfo find(List<SessionInfo> sessions, long number) {
        return sessions.stream().filter(s -> s.session() == number).findFirst().orElse(null);
    }

    /**
     * Lists on {@code id} until the session has no host attached: the agent notices a host that
     * closed its end when its loop reads that end, which may be after a new host's first frames.
     */
    static void waitUntilNoHost(HostConnection host, long id, long session) throws Exception {
        long deadline = System.nanoTime() + HostConnection.TIMEOUT.toNanos();
        while (find(list(host, id), session).attached()) {
            assertTrue(System.nanoTime() < deadline, "still attached after its host left");
            Thread.sleep(20);
        }
    }

    static String lines(String prefix, int from, int to) {
        StringBuilder b = new StringBuilder();
        for (int i = from; i <= to; i++) {
            b.append(prefix).append(i).append('\n');
        }
        return b.toString();
    }

    @Test
    void readyListsTheFeature() throws Exception {
        try (HostConnection host = agent.process().connect()) {
            assertTrue(((Ready) host.expect(0, MessageType.CORE_READY).payload()).supports(Ready.FEATURE_SESSIONS));
        }
    }

    @Test
    void aDetachedSessionOutlivesAnAbruptDisconnectAndAnAttachFromZeroGetsEveryByteInOrderAndTheExit()
            throws Exception {
        // Slow output on both streams, so the host leaves in the middle of it.
        String script = "i=1; while [ $i -le 300 ]; do echo out$i; echo err$i >&2; i=$((i+1));"
                + " [ $((i % 20)) -eq 0 ] && sleep 0.05; done; exit 7";
        long number;
        try (HostConnection first = agent.connectReady()) {
            number = startDetached(first, 5, Requests.sh(script));
            first.expect(5, MessageType.EXEC_STDOUT); // output is flowing
        } // closed abruptly mid-output: under the kill policy only a detachable session survives
        try (HostConnection second = agent.connectReady()) {
            waitUntilNoHost(second, 8, number);
            Attach a = attachToEnd(second, 9, number, 0L);
            assertEquals(0, a.attached().from());
            assertEquals(0, a.attached().missed());
            assertEquals(number, a.attached().session());
            assertEquals(lines("out", 1, 300), a.stdout());
            assertEquals(lines("err", 1, 300), a.stderr());
            // Offsets count both streams together, in the order the agent read them: every line is whole.
            assertEquals(a.stdout().length() + a.stderr().length(), a.output().length());
            assertEquals(7, a.exited().code());
            assertTrue(second.nothingMore(9, Duration.ofMillis(200)));
            assertEquals(null, find(list(second, 10), number), "an exit delivered collects the session");
            second.send(new Frame(11, MessageType.SESSION_ATTACH, new SessionAttach(number, null, false)));
            assertTrue(second.expectError(11, "invalid_session").message().contains("unknown or already collected"));
        }
    }

    @Test
    void anAttachFromAnOffsetGetsTheRestAndLiveOutputThenTheExit() throws Exception {
        long number;
        try (HostConnection first = agent.connectReady()) {
            number = startDetached(first, 5, Requests.sh("printf 0123456789; read x; printf done; exit 3"));
        }
        try (HostConnection second = agent.connectReady()) {
            waitForOutput(second, number, 10);
            second.send(new Frame(20, MessageType.SESSION_ATTACH, new SessionAttach(number, 4L, true)));
            SessionAttached attached = (SessionAttached) second.expect(20, MessageType.SESSION_ATTACHED).payload();
            assertEquals(4, attached.from());
            assertEquals(0, attached.missed());
            assertEquals("456789", new String(((ExecData) second.expect(20, MessageType.EXEC_STDOUT).payload()).data(),
                    StandardCharsets.UTF_8));
            // stdin on the attach's id reaches the session, within the credit granted to the attacher
            second.stdinWithinCredit(20, "go\n".getBytes(StandardCharsets.UTF_8), 1024);
            assertTrue(second.creditGranted(20) > 0);
            assertEquals("done", new String(((ExecData) second.expect(20, MessageType.EXEC_STDOUT).payload()).data(),
                    StandardCharsets.UTF_8));
            assertEquals(3, ((ExecExited) second.expect(20, MessageType.EXEC_EXITED).payload()).code());
        }
    }

    private static void waitForOutput(HostConnection host, long number, long bytes) throws Exception {
        long deadline = System.nanoTime() + HostConnection.TIMEOUT.toNanos();
        for (long id = 1000; System.nanoTime() < deadline; id++) {
            SessionInfo info = find(list(host, id), number);
            if (info != null && info.bytesOut() >= bytes && !info.attached()) { // and its old host noticed gone
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("session " + number + " wrote less than " + bytes + " bytes, or kept its host");
    }

    @Test
    void theListShowsSessionsOfEarlierConnectionsAndWhoIsAttached() throws Exception {
        long detached;
        try (HostConnection first = agent.connectReady()) {
            detached = startDetached(first, 5, ExecRequest.of("sleep", "30"));
        }
        try (HostConnection second = agent.connectReady()) {
            second.exec(6, ExecRequest.of("sleep", "30"));
            long pid = ((ExecStarted) second.expect(6, MessageType.EXEC_STARTED).payload()).pid();
            List<SessionInfo> sessions = list(second, 7);
            SessionInfo gone = find(sessions, detached);
            assertNotNull(gone, "the detached session of the earlier connection: " + sessions);
            assertEquals(SessionInfo.RUNNING, gone.state());
            assertFalse(gone.attached());
            assertTrue(gone.detachable());
            assertEquals("sleep", gone.cmd());
            assertEquals(List.of("30"), gone.args());
            SessionInfo mine = sessions.stream().filter(s -> s.pid() == pid).findFirst().orElseThrow();
            assertTrue(mine.attached());
            assertFalse(mine.detachable());
            assertEquals(0, mine.bytesOut());
            assertEquals(mine.retainedStart(), mine.retainedEnd(), "a session with its host keeps no output");
            assertTrue(mine.session() > detached, "numbers are never reused");
            second.send(new Frame(8, MessageType.SESSION_ATTACH, new SessionAttach(detached, null, false)));
            second.expect(8, MessageType.SESSION_ATTACHED);
            second.send(new Frame(8, MessageType.EXEC_SIGNAL, new io.agentd.protocol.payload.ExecSignal(9)));
            assertEquals(137, ((ExecExited) second.expect(8, MessageType.EXEC_EXITED).payload()).code());
            second.send(new Frame(6, MessageType.EXEC_SIGNAL, new io.agentd.protocol.payload.ExecSignal(9)));
            second.expect(6, MessageType.EXEC_EXITED);
        }
    }

    @Test
    void aSessionWithAHostAttachedIsRefusedToASecondAttacher(HostConnection host) throws Exception {
        long number = startDetached(host, 5, ExecRequest.of("sleep", "30"));
        host.send(new Frame(6, MessageType.SESSION_ATTACH, new SessionAttach(number, null, false)));
        ErrorPayload e = host.expectError(6, "invalid_session");
        // Its own connection holds it (on id 5): said so, not "another host", and without the id,
        // which behind a relay would be another client's.
        assertEquals("session " + number + " is attached already, on another id of this connection (or another"
                + " client of its relay)", e.message());
        assertEquals(MessageType.SESSION_ATTACH.wire(), e.offendingType());
        host.send(new Frame(5, MessageType.EXEC_SIGNAL, new io.agentd.protocol.payload.ExecSignal(9)));
        host.expect(5, MessageType.EXEC_EXITED);
    }

    @Test
    void oneHostAtATimeASecondAttacherOnAnotherConnectionIsRefusedUntilTheFirstLeaves() throws Exception {
        long number;
        try (HostConnection starter = agent.connectReady()) {
            number = startDetached(starter, 5, Requests.sh("read x; echo got $x; exit 5"));
        }
        try (HostConnection first = agent.connectReady(); HostConnection second = agent.connectReady()) {
            first.send(new Frame(7, MessageType.SESSION_ATTACH, new SessionAttach(number, null, false)));
            first.expect(7, MessageType.SESSION_ATTACHED);
            // The list, from another live connection, shows the session and that a host is attached.
            SessionInfo info = find(list(second, 8), number);
            assertTrue(info.attached());
            second.send(new Frame(9, MessageType.SESSION_ATTACH, new SessionAttach(number, null, false)));
            assertEquals("session " + number + " is attached to another host",
                    second.expectError(9, "invalid_session").message());
            first.close(); // the first attacher leaves: the session is detachable, so it runs on
            waitUntilNoHost(second, 10, number);
            attachAndAnswer(second, 11, number, 5);
        }
    }

    /** A host gone is no holder, even before the agent has heard of its going: no wait, no retry. */
    @Test
    void anAttachRightAfterTheHoldingHostClosedItsConnectionSucceeds() throws Exception {
        try (HostConnection second = agent.connectReady()) {
            long number;
            HostConnection first = agent.connectReady();
            number = startDetached(first, 5, Requests.sh("read x; echo got $x; exit 6"));
            first.close();
            attachAndAnswer(second, 7, number, 6);
        }
    }

    /**
     * Attaches {@code host} to session {@code number} (running "read x; echo got $x; exit CODE") on
     * {@code id}, answers its read, and expects its echo and its exit.
     */
    private static void attachAndAnswer(HostConnection host, long id, long number, int code) throws Exception {
        host.send(new Frame(id, MessageType.SESSION_ATTACH, new SessionAttach(number, null, false)));
        host.expect(id, MessageType.SESSION_ATTACHED);
        host.stdin(id, "it\n".getBytes(StandardCharsets.UTF_8));
        assertEquals("got it\n", new String(((ExecData) host.expect(id, MessageType.EXEC_STDOUT).payload()).data(),
                StandardCharsets.UTF_8));
        assertEquals(code, ((ExecExited) host.expect(id, MessageType.EXEC_EXITED).payload()).code());
    }

    @Test
    void anAttachToAnUnknownSessionOrPastTheEndIsRefused() throws Exception {
        long number;
        try (HostConnection first = agent.connectReady()) {
            first.send(new Frame(4, MessageType.SESSION_ATTACH, new SessionAttach(999_999, null, false)));
            assertEquals("session 999999 is unknown or already collected",
                    first.expectError(4, "invalid_session").message());
            number = startDetached(first, 5, Requests.sh("printf abc; sleep 30"));
        }
        try (HostConnection second = agent.connectReady()) {
            waitForOutput(second, number, 3);
            second.send(new Frame(6, MessageType.SESSION_ATTACH, new SessionAttach(number, 4L, false)));
            assertEquals("from 4 is past the end of the output (3 bytes so far)",
                    second.expectError(6, "invalid_payload").message());
            // A u64 from of 2^63 or more, which Java holds as negative: past the end too, not a
            // replay from a negative offset.
            second.send(new Frame(6, MessageType.SESSION_ATTACH, new SessionAttach(number, Long.MIN_VALUE, false)));
            assertEquals("from 9223372036854775808 is past the end of the output (3 bytes so far)",
                    second.expectError(6, "invalid_payload").message());
            second.send(new Frame(6, MessageType.SESSION_ATTACH, new SessionAttach(number, -1L, false)));
            assertEquals("from 18446744073709551615 is past the end of the output (3 bytes so far)",
                    second.expectError(6, "invalid_payload").message());
            second.send(new Frame(7, MessageType.SESSION_ATTACH, new SessionAttach(number, 3L, false)));
            SessionAttached at = (SessionAttached) second.expect(7, MessageType.SESSION_ATTACHED).payload();
            assertEquals(3, at.from());
            second.send(new Frame(7, MessageType.EXEC_SIGNAL, new io.agentd.protocol.payload.ExecSignal(9)));
            second.expect(7, MessageType.EXEC_EXITED);
        }
    }

    @Test
    void aSessionThatIsNotDetachableDiesWithItsHostUnderTheKillPolicy() throws Exception {
        long pid;
        try (HostConnection first = agent.connectReady()) {
            first.exec(5, ExecRequest.of("sleep", "30"));
            ExecStarted started = (ExecStarted) first.expect(5, MessageType.EXEC_STARTED).payload();
            assertEquals(null, started.session(), "a plain request's started is {pid} as before");
            pid = started.pid();
        }
        try (HostConnection second = agent.connectReady()) {
            assertTrue(list(second, 5).stream().noneMatch(s -> s.pid() == pid));
        }
    }

    /**
     * start_detached: the host that started a short command stays connected, and the command's exit
     * must not go to it (it asked for started only) nor collect the session: without the field, the
     * exit went to that connection and an attach found the session collected (review, item 1).
     */
    @Test
    void aSessionStartedDetachedKeepsAShortCommandsOutputAndExitForAnAttachWhileItsHostStaysConnected()
            throws Exception {
        try (HostConnection host = agent.connectReady()) {
            long number = startDetached(host, 5, Requests.sh("echo hi; exit 3").withStartDetached(true));
            long deadline = System.nanoTime() + HostConnection.TIMEOUT.toNanos();
            SessionInfo info;
            while ((info = find(list(host, 6), number)) != null && info.running()) {
                assertTrue(System.nanoTime() < deadline, "the command did not exit");
                Thread.sleep(20);
            }
            assertNotNull(info, "the session was collected at its exit, though nobody attached");
            assertFalse(info.attached(), "detached at its start");
            assertEquals(3, info.exitCode());
            assertTrue(host.nothingMore(5, Duration.ofMillis(200)), "nothing but started on the request's id");
            Attach a = attachToEnd(host, 7, number, 0L);
            assertEquals("hi\n", a.output());
            assertEquals(3, a.exited().code());
            // The request's id is free again on the connection.
            host.exec(5, Requests.sh("exit 4"));
            host.expect(5, MessageType.EXEC_STARTED);
            assertEquals(4, ((ExecExited) host.expect(5, MessageType.EXEC_EXITED).payload()).code());
        }
    }

    @Test
    void startDetachedWithoutDetachableIsRefusedBadArgsAndNothingStarts() throws Exception {
        try (HostConnection host = agent.connectReady()) {
            host.exec(5, Requests.sh("echo never").withStartDetached(true));
            ExecFailed failed = (ExecFailed) host.expect(5, MessageType.EXEC_FAILED).payload();
            assertEquals("bad_args", failed.kind());
            assertTrue(failed.message().contains("start_detached needs detachable"), failed.message());
        }
    }

    /**
     * What a detached session's command leaves running goes with its exit (review, item 3): to the
     * host attached when the command ends, or else to the host whose attach takes the exit later; that
     * host's departure (kill policy) kills it either way. With no host at the exit it was filed under
     * the key of the host that had started it, so it died with that connection or, once that one was
     * gone, lived on for ever, out of ps.
     */
    @Test
    void aDetachedSessionsLeftoverProcessDiesWithTheHostThatTookItsExitWhateverTheTiming() throws Exception {
        String leaveOne = "sleep 600 </dev/null >/dev/null 2>&1 & echo $!";
        try (HostConnection starter = agent.connectReady()) {
            // Attached when the command ends: the attacher releases it with a line on stdin.
            long attachedAtExit = startDetached(starter, 5, Requests.sh(leaveOne + "; read x").withStartDetached(true));
            int first;
            try (HostConnection attacher = agent.connectReady()) {
                attacher.send(new Frame(7, MessageType.SESSION_ATTACH, new SessionAttach(attachedAtExit, 0L, false)));
                attacher.expect(7, MessageType.SESSION_ATTACHED);
                first = Integer.parseInt(new String(((ExecData) attacher.expect(7, MessageType.EXEC_STDOUT).payload())
                        .data(), StandardCharsets.US_ASCII).trim());
                attacher.stdin(7, "go\n".getBytes(StandardCharsets.US_ASCII));
                assertEquals(0, ((ExecExited) attacher.expect(7, MessageType.EXEC_EXITED).payload()).code());
                assertTrue(alive(first), "a normal exit leaves the background process running");
            }
            // Nobody attached when the command ends; the attach comes after (the starter is still connected).
            long detachedAtExit = startDetached(starter, 6, Requests.sh(leaveOne).withStartDetached(true));
            int second;
            try (HostConnection attacher = agent.connectReady()) {
                long deadline = System.nanoTime() + HostConnection.TIMEOUT.toNanos();
                while (find(list(attacher, 8), detachedAtExit).running()) {
                    assertTrue(System.nanoTime() < deadline, "the command did not exit");
                    Thread.sleep(20);
                }
                Attach a = attachToEnd(attacher, 9, detachedAtExit, 0L);
                assertEquals(0, a.exited().code());
                second = Integer.parseInt(a.stdout().trim());
                assertTrue(alive(second), "a normal exit leaves the background process running");
            }
            try {
                awaitGone(first, "attached at the exit");
                awaitGone(second, "detached at the exit, attached after");
            } finally {
                ProcessHandle.of(first).ifPresent(ProcessHandle::destroyForcibly);
                ProcessHandle.of(second).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
    }

    /** Running (a zombie the agent has not reaped yet counts as gone). */
    private static boolean alive(int pid) throws Exception {
        java.nio.file.Path stat = java.nio.file.Path.of("/proc/" + pid + "/stat");
        try {
            String s = java.nio.file.Files.readString(stat);
            return s.charAt(s.lastIndexOf(')') + 2) != 'Z';
        } catch (java.nio.file.NoSuchFileException e) {
            return false;
        }
    }

    private static void awaitGone(int pid, String when) throws Exception {
        long deadline = System.nanoTime() + HostConnection.TIMEOUT.toNanos();
        while (alive(pid)) {
            assertTrue(System.nanoTime() < deadline, "the leftover process " + pid + " (" + when
                    + ") outlived the host that took the session's exit");
            Thread.sleep(20);
        }
    }
}
