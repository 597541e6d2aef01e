package io.agentd.agent.session;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.loop.EventLoop;
import io.agentd.agent.transport.PortLink;
import io.agentd.protocol.payload.ExecFailed;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A failed that cannot be encoded is replaced, never lost (the link queues without a host attached). */
class TerminalFramesTest {
    private EventLoop loop;
    private PortLink link;

    @BeforeEach
    void setUp() throws Exception {
        loop = new EventLoop();
        link = new PortLink(loop, 1 << 20, 0);
    }

    @AfterEach
    void tearDown() {
        loop.close();
    }

    @Test
    void aFailedThatCannotBeEncodedIsReplacedByAMinimalOne() {
        // No kind: the encoder refuses the frame (a required field), and the cut message does not help.
        TerminalFrames.sendFailed(link, 5, new ExecFailed(null, null, null, "x".repeat(100), null));
        assertTrue(link.queuedBytes() > 0, "a failed was queued");
    }

    @Test
    void aFailedWithAHugeMessageGoesOutCut() {
        TerminalFrames.sendFailed(link, 6, new ExecFailed("bad_args", 7, "E2BIG", "y".repeat(5 << 20), "execve"));
        long queued = link.queuedBytes();
        assertTrue(queued > 0 && queued < 1000, queued + " bytes queued");
    }
}
