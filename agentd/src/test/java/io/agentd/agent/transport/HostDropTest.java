package io.agentd.agent.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.agentd.agent.loop.Loop;
import io.agentd.agent.loop.ScriptedLoop;
import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.protocol.MessageType;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * A host being dropped gets {@link HostDrop#LINGER_MILLIS} to read what is queued for it, and no
 * longer; once it has, the drop ends at once, and the linger no more. The port is the write end of
 * a pipe nobody reads: the queue drains only when the test says so.
 */
class HostDropTest {
    private final ScriptedLoop loop = new ScriptedLoop();
    private final PortLink link = new PortLink(loop, 1 << 30, 0);
    private final List<Boolean> hangups = new ArrayList<>();
    private final ListAppender<ILoggingEvent> lines = new ListAppender<>();
    private final Logger logger = (Logger) LoggerFactory.getLogger(PortLink.class);
    private final int[] pipe = new int[2];

    @BeforeEach
    void connect() {
        assertEquals(0, Os.libc().pipe2(pipe, LibC.O_CLOEXEC | LibC.O_NONBLOCK));
        link.setListener(new SilentHost());
        link.attach(pipe[1], PortLink.Splicing.COPY_OUTPUT, PortLink.Resync.DROP_HOST, hangups::add);
        loop.fire(pipe[1], Loop.WRITABLE); // connected
        lines.start();
        logger.addAppender(lines);
    }

    @AfterEach
    void close() {
        logger.detachAppender(lines);
        Os.close(pipe[0]);
        Os.close(pipe[1]);
    }

    @Test
    void aHostThatReadsNothingIsHungUpWhenTheLingerIsOver() {
        link.sendData(7, MessageType.EXEC_STDOUT, ByteBuffer.wrap(new byte[1 << 20])); // more than the pipe takes
        loop.advance(0);
        link.beginDrop("dropped: a test");
        loop.advance(HostDrop.LINGER_MILLIS - 1);
        assertEquals(List.of(), hangups, "the host still has time to read");
        loop.advance(1);
        assertEquals(List.of(true), hangups);
        assertTrue(closedLine().startsWith("dropped: a test; ") && closedLine().endsWith(
                " bytes the host did not read in " + HostDrop.LINGER_MILLIS + " ms"), closedLine());
    }

    @Test
    void aHostThatReadsItAllIsHungUpAtOnceAndTheLingerEndsWithIt() {
        link.sendData(7, MessageType.EXEC_STDOUT, ByteBuffer.wrap(new byte[1024]));
        link.beginDrop("dropped: a test");
        loop.fire(pipe[1], Loop.WRITABLE);
        assertEquals(List.of(true), hangups);
        assertEquals("dropped: a test; what was queued was written", closedLine());
        loop.advance(HostDrop.LINGER_MILLIS);
        assertEquals(List.of(true), hangups, "hung up once");
    }

    private String closedLine() {
        return lines.list.stream().map(ILoggingEvent::getFormattedMessage).filter(l -> l.contains(" closed: "))
                .map(l -> l.substring(l.indexOf(" closed: ") + " closed: ".length())).findFirst().orElse("(none)");
    }
}
