package io.agentd.agent.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.agentd.agent.loop.ScriptedLoop;
import io.agentd.agent.spawn.Child;
import io.agentd.agent.transport.RecordingHost;
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
    private final SessionHost host = new SessionHost(1, new RecordingHost());
    private final ScriptedSessions scripted = new ScriptedSessions(loop, new Child(100, 13, 10, 11, 12, false));
    private final ListAppender<ILoggingEvent> lines = new ListAppender<>();
    private final Logger logger = (Logger) LoggerFactory.getLogger(Sessions.class);

    @BeforeEach
    void capture() {
        lines.start();
        logger.addAppender(lines);
    }

    @AfterEach
    void release() {
        logger.detachAppender(lines);
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
}
