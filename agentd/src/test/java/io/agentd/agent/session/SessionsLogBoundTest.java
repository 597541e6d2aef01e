package io.agentd.agent.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.agentd.agent.loop.Loop;
import io.agentd.agent.loop.ScriptedLoop;
import io.agentd.agent.spawn.Child;
import io.agentd.agent.transport.RecordingHost;
import io.agentd.protocol.MessageType;
import java.util.List;
import io.agentd.protocol.payload.ExecRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * What a host can repeat at will writes a bounded number of log lines: a thousand signals to its
 * own session within a second write one line, not a thousand (the guest's console is a serial
 * port, and the loop writes its lines itself). Every signal still reaches the process group.
 */
class SessionsLogBoundTest {
    private static final int SIGCONT = 18;

    private final ScriptedLoop loop = new ScriptedLoop();
    private final RecordingHost output = new RecordingHost();
    private final SessionHost host = new SessionHost(1, output);
    private final ScriptedSessions scripted = new ScriptedSessions(loop, new Child(100, 13, 10, 11, 12, false));
    private final ListAppender<ILoggingEvent> lines = new ListAppender<>();
    private final Logger logger = (Logger) LoggerFactory.getLogger(Sessions.class);
    private final Logger sessionLogger = (Logger) LoggerFactory.getLogger(Session.class);

    @BeforeEach
    void capture() {
        lines.start();
        logger.addAppender(lines);
        sessionLogger.addAppender(lines);
    }

    @AfterEach
    void release() {
        logger.detachAppender(lines);
        sessionLogger.detachAppender(lines);
    }

    @Test
    void aThousandSignalsWithinASecondWriteOneLine() {
        scripted.sessions.onExecRequest(host, 5, ExecRequest.of("sleep", "60"));
        for (int i = 0; i < 1000; i++) {
            scripted.sessions.onSignal(host, 5, SIGCONT);
        }
        assertEquals(1000, scripted.signals().size(), "every signal sent");
        long signalLines = lines.list.stream().filter(e -> e.getFormattedMessage().contains("signal " + SIGCONT)).count();
        assertEquals(1, signalLines, "one line for the burst");
        loop.advance(1_000);
        ILoggingEvent count = lines.list.get(lines.list.size() - 1);
        assertEquals("999 more signals sent to sessions in the last second not logged", count.getFormattedMessage(),
                "the burst's count comes out on its own once its second is over");
        scripted.sessions.onSignal(host, 5, SIGCONT);
        ILoggingEvent last = lines.list.get(lines.list.size() - 1);
        assertTrue(last.getFormattedMessage().contains("signal " + SIGCONT + " to process group 100")
                && !last.getFormattedMessage().contains("more"),
                "the next line carries no count of its own: " + last.getFormattedMessage());
    }

    /**
     * An end of input on a PTY session is ignored (the host sends ^D): with debug on, a host that
     * sends a thousand gets one line for the session, and the PTY is left open.
     */
    @Test
    void aThousandEndsOfInputOnAPtyWriteOneDebugLine() {
        ScriptedSessions pty = new ScriptedSessions(loop, new Child(100, 13, 20, 20, -1, true));
        ch.qos.logback.classic.Level before = sessionLogger.getLevel();
        sessionLogger.setLevel(ch.qos.logback.classic.Level.DEBUG);
        try {
            pty.sessions.onExecRequest(host, 5, ExecRequest.of("cat"));
            for (int i = 0; i < 1000; i++) {
                pty.sessions.onStdin(host, 5, new byte[0]);
            }
        } finally {
            sessionLogger.setLevel(before);
        }
        long eofLines = lines.list.stream()
                .filter(e -> e.getFormattedMessage().contains("end of input ignored on a PTY")).count();
        assertEquals(1, eofLines, "one line for the session, not one per frame");
        assertEquals(0, pty.closes(20), "the PTY master stays open");
    }

    /**
     * stdin, a resize and a signal that crossed the session's exit on the wire (yes | agentctl exec
     * -i -- head -c 1 sends stdin until it reads the exit) are answered as before, each with
     * core.error, but as races (a debug line); on an id that never was a session they stay
     * refusals (a warning).
     */
    @Test
    void framesThatCrossedASessionsExitAreRacesAndThoseOnAnUnknownIdAreNot() {
        scripted.sessions.onExecRequest(host, 5, ExecRequest.of("head", "-c", "1"));
        scripted.eof(11);
        scripted.eof(12);
        loop.fire(11, Loop.READABLE);
        loop.fire(12, Loop.READABLE);
        scripted.exit(100, 0);
        loop.fire(13, Loop.READABLE);
        loop.advance(1_000);
        assertEquals(1, output.of(MessageType.EXEC_EXITED).size(), "the session ended");
        int errors = output.of(MessageType.CORE_ERROR).size();

        scripted.sessions.onStdin(host, 5, "y\n".getBytes());
        scripted.sessions.onResize(host, 5, 24, 80);
        scripted.sessions.onSignal(host, 5, SIGCONT);
        assertEquals(List.of("core.exec.stdin", "core.exec.resize", "core.exec.signal"), output.racedRefusals);
        assertEquals(errors + 3, output.of(MessageType.CORE_ERROR).size(), "each still answered with core.error");

        scripted.sessions.onStdin(host, 9, "y\n".getBytes());
        scripted.sessions.onResize(host, 9, 24, 80);
        scripted.sessions.onSignal(host, 9, SIGCONT);
        assertEquals(3, output.racedRefusals.size(), "an id that never was a session: a host's mistake");
        assertEquals(errors + 6, output.of(MessageType.CORE_ERROR).size());

        SessionHost other = new SessionHost(2, output);
        scripted.sessions.onStdin(other, 5, "y\n".getBytes());
        assertEquals(3, output.racedRefusals.size(), "the same id on another connection never was a session");
    }

    /**
     * The lines that name a session by the host's request id alone (a signal) carry the connection
     * and the session number its start and exit lines do; a session killed with its host gets no line
     * of its own (a host with a thousand sessions made a thousand at once) but its id in the host's
     * one line, which says no exit lines follow.
     */
    @Test
    void signalLinesNameTheConnectionAndNumberAndAHostsLossIsOneLine() {
        scripted.sessions.onExecRequest(host, 5, ExecRequest.of("sleep", "60"));
        String started = lines.list.stream().map(ILoggingEvent::getFormattedMessage)
                .filter(m -> m.startsWith("session 5 started")).findFirst().orElseThrow();
        String number = started.substring(started.indexOf(" number=") + 1);
        scripted.sessions.onSignal(host, 5, SIGCONT);
        String signal = lines.list.get(lines.list.size() - 1).getFormattedMessage();
        assertTrue(signal.endsWith(" connection=1 " + number), signal);

        scripted.sessions.killOwned(1, id -> true);
        String hostGone = lines.list.stream().map(ILoggingEvent::getFormattedMessage)
                .filter(m -> m.startsWith("host gone: ")).findFirst().orElseThrow();
        assertEquals("host gone: 1 session(s) of connection 1 killed, no exit lines follow: ids 5; 0 detachable"
                + " one(s) kept running", hostGone);
        assertTrue(lines.list.stream().noneMatch(e -> e.getFormattedMessage().contains("abandoned")));
    }
}
