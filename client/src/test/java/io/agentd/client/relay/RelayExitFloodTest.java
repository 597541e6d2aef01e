package io.agentd.client.relay;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecExited;
import io.agentd.protocol.payload.Ready;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * An agent that sends exits for ids no client holds and reads nothing, as RelayReadyFloodTest's
 * readies: the relay answers each with core.relay.exit.dropped only while little waits for the agent,
 * so its memory does not grow with the flood (before: 32 MiB of exits, 33 MiB of notices queued).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RelayExitFloodTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final long FLOOD_BYTES = 32L << 20;

    @Test
    void exitsForNobodyFromAnAgentThatReadsNothingQueueBoundedNotices(@TempDir Path dir) throws Exception {
        Ready ready = new Ready(1, 2, 3, "flood", List.of(Ready.FEATURE_RELAY_EXIT_DROPPED));
        try (ScriptedPort port = ScriptedPort.startReady(dir, WAIT, ready)) {
            byte[] exit = new FrameEncoder().encode(new Frame(IdRange.slot(5).start(), MessageType.EXEC_EXITED,
                    new ExecExited(7, null, null)));
            ByteArrayOutputStream batch = new ByteArrayOutputStream();
            while (batch.size() < (1 << 20)) {
                batch.writeBytes(exit);
            }
            port.floodFromAgent(ByteBuffer.wrap(batch.toByteArray()), FLOOD_BYTES);
            Thread.sleep(1000);
            assertTrue(port.relay.isRunning(), "the relay goes on");
            long queued = port.drainAtAgent(); // what the relay queued for the agent
            assertTrue(queued > 0, "notices are sent while there is room");
            assertTrue(queued <= AgentNotices.EXIT_NOTICES_MAX_QUEUED + (1 << 20), "the relay queued " + queued
                    + " bytes of notices for " + FLOOD_BYTES + " bytes of exits");
        }
    }
}
