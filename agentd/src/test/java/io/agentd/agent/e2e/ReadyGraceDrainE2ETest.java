package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Ready;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * core.ready says the agent's grace and drain window (grace_ms, drain_ms): with them a host knows
 * when a timed-out session's exited is owed, and agentctl bounds its wait for it by them.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ReadyGraceDrainE2ETest {

    @Test
    void readySaysTheDefaultGraceAndDrain() throws Exception {
        try (AgentProcess agent = AgentProcess.start("ready-grace-default");
                HostConnection host = agent.connect()) {
            Ready ready = (Ready) host.expect(0, MessageType.CORE_READY).payload();
            assertEquals(2000L, ready.graceMs());
            assertEquals(250L, ready.drainMs());
        }
    }

    @Test
    void readySaysTheGraceAndDrainTheAgentWasGiven() throws Exception {
        try (AgentProcess agent = AgentProcess.start("ready-grace-set", "--grace-ms", "700", "--drain-ms", "40");
                HostConnection host = agent.connect()) {
            Ready ready = (Ready) host.expect(0, MessageType.CORE_READY).payload();
            assertEquals(700L, ready.graceMs());
            assertEquals(40L, ready.drainMs());
        }
    }
}
