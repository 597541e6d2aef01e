package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import org.junit.jupiter.api.Test;

/** The launcher's heap holds the default budgets; budgets past it are named in a warning at start. */
class HeapBudgetWarningE2ETest {
    @Test
    void budgetsPastTheHeapAreWarnedAboutAndTheAgentServes() throws Exception {
        try (AgentProcess agent = AgentProcess.start("heap-budget", "--stdin-total", "1g");
                HostConnection host = agent.connectReady()) {
            host.send(new Frame(1, MessageType.CORE_PING, Empty.INSTANCE));
            host.expect(1, MessageType.CORE_PONG);
            String log = agent.logText();
            assertTrue(log.contains("WARN") && log.contains("the heap may grow to ")
                    && log.contains("--stdin-total 1024 MiB"), log);
        }
    }

    @Test
    void theLaunchersDefaultsNeedNoWarning() throws Exception {
        try (AgentProcess agent = AgentProcess.start("heap-default");
                HostConnection host = agent.connectReady()) {
            assertFalse(agent.logText().contains("the heap may grow to "), agent.logText());
        }
    }
}
