package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecSignal;
import java.io.ByteArrayOutputStream;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Memory is bounded whatever the host sends as stdin: 2.5 million one-byte frames to a child that
 * never reads, into an agent with a 48 MiB heap. Each byte queued must cost about a byte, not the
 * objects of a frame.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class StdinFloodE2ETest {
    private static final int FRAMES = 2_500_000;

    @Test
    void millionsOfOneByteFramesDoNotExhaustASmallHeap() throws Exception {
        try (AgentProcess agent = AgentProcess.startWithJavaOpts("stdin-flood", "-Xmx48m",
                "--stdin-limit", "1m");
                HostConnection host = agent.connectReady()) {
            host.exec(1, ExecRequest.of("sleep", "600"));
            host.expect(1, MessageType.EXEC_STARTED);
            host.countStdinErrors(1);
            byte[] one = new FrameEncoder().encode(new Frame(1, MessageType.EXEC_STDIN, new ExecData(new byte[] {'x'})));
            ByteArrayOutputStream batch = new ByteArrayOutputStream();
            int perBatch = (1 << 20) / one.length;
            for (int i = 0; i < perBatch; i++) {
                batch.write(one);
            }
            byte[] bytes = batch.toByteArray();
            for (int sent = 0; sent < FRAMES; sent += perBatch) {
                host.sendRaw(bytes);
            }
            host.send(new Frame(7, MessageType.CORE_PING, Empty.INSTANCE));
            host.expect(7, MessageType.CORE_PONG);
            assertTrue(agent.isAlive(), agent.logText());
            long refused = host.stdinErrorsCounted(1);
            assertTrue(refused > FRAMES - (2L << 20),
                    "frames past the 1 MiB queue (and the pipe) were refused: " + refused);
            assertEquals("ENOBUFS", host.lastStdinErrorCounted(1).errnoName(),
                    host.lastStdinErrorCounted(1).toString());
            host.send(new Frame(1, MessageType.EXEC_SIGNAL, new ExecSignal(9)));
            assertEquals(137, host.collect(1, HostConnection.TIMEOUT).code());
            assertTrue(!agent.logText().contains("OutOfMemoryError"), agent.logText());
        }
    }
}
