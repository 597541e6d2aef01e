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
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Every way a session ends gives its stdin bytes and credit back to the all-sessions budget
 * (--stdin-total, 64 MiB here). The agent logs the budget at debug level after each session ends;
 * with no session left it must read 0.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class StdinBudgetReleaseE2ETest {
    private static final Pattern BUDGET_LINE =
            Pattern.compile("stdin budget: (\\d+) of (\\d+) bytes queued or granted over (\\d+) session");
    private static final byte[] MIB = new byte[1 << 20];

    @RegisterExtension
    static final SharedAgent agent = new SharedAgent("stdin-budget", "--log-level", "debug");

    /** Waits for a budget line after the {@code seen}-th and returns the bytes it reports in use. */
    private static long budgetAfter(AgentProcess process, int seen) throws InterruptedException {
        long deadline = System.nanoTime() + HostConnection.TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            List<Long> used = budgetLines(process);
            if (used.size() > seen) {
                return used.get(used.size() - 1);
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no stdin budget line after the " + seen + "th:\n" + process.logText());
    }

    private static List<Long> budgetLines(AgentProcess process) {
        Matcher m = BUDGET_LINE.matcher(process.logText());
        List<Long> used = new java.util.ArrayList<>();
        while (m.find()) {
            if (m.group(3).equals("0")) {
                used.add(Long.parseLong(m.group(1)));
            }
        }
        return used;
    }

    private static void stdinMib(HostConnection host, long id, int mib) throws Exception {
        byte[] frame = new FrameEncoder().encode(new Frame(id, MessageType.EXEC_STDIN, new ExecData(MIB)));
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (int i = 0; i < mib; i++) {
            all.write(frame);
        }
        host.sendRaw(all.toByteArray());
        host.send(new Frame(id + 1000, MessageType.CORE_PING, Empty.INSTANCE)); // the agent has taken them all
        host.expect(id + 1000, MessageType.CORE_PONG);
    }

    @Test
    void fiveHostsLeavingWith16MibQueuedLeaveTheBudgetWhole() throws Exception {
        AgentProcess process = agent.process();
        for (int h = 1; h <= 5; h++) {
            int seen = budgetLines(process).size();
            try (HostConnection host = agent.connectReady()) {
                host.exec(1, ExecRequest.of("sleep", "600"));
                host.expect(1, MessageType.EXEC_STARTED);
                stdinMib(host, 1, 16);
            }
            assertEquals(0, budgetAfter(process, seen), "after host " + h + " left");
        }
        try (HostConnection host = agent.connectReady()) {
            host.exec(1, ExecRequest.of("sleep", "600"));
            host.expect(1, MessageType.EXEC_STARTED);
            stdinMib(host, 1, 16);
            host.send(new Frame(1, MessageType.EXEC_SIGNAL, new ExecSignal(9)));
            SessionResult r = host.collect(1, HostConnection.TIMEOUT);
            assertTrue(r.stdinErrors().stream().noneMatch(e -> "ENOBUFS".equals(e.errnoName())),
                    "the sixth host's stdin has room: " + r.stdinErrors());
        }
    }

    @Test
    void detachedSessionsGiveTheCreditTheirHostDidNotUseBack() throws Exception {
        // A budget of two 1 MiB windows, both granted to detachable sessions whose host then leaves.
        try (AgentProcess own = AgentProcess.start("detached-credit", "--stdin-total", "2m")) {
            try (HostConnection first = own.connect()) {
                first.expect(0, MessageType.CORE_READY);
                for (long id = 1; id <= 2; id++) {
                    first.exec(id, ExecRequest.of("sleep", "600").withStdinWindow(true).withDetachable(true));
                    first.expect(id, MessageType.EXEC_STARTED);
                }
                first.send(new Frame(9, MessageType.CORE_PING, Empty.INSTANCE));
                first.expect(9, MessageType.CORE_PONG);
                assertTrue(first.creditGranted(1) > 0 && first.creditGranted(2) > 0, "both windows granted");
            }
            try (HostConnection next = own.connect()) {
                next.expect(0, MessageType.CORE_READY);
                next.exec(1, ExecRequest.of("cat").withStdinWindow(true));
                next.expect(1, MessageType.EXEC_STARTED);
                next.send(new Frame(9, MessageType.CORE_PING, Empty.INSTANCE));
                next.expect(9, MessageType.CORE_PONG); // the credit, if any, came before the pong
                assertTrue(next.creditGranted(1) > 0,
                        "the next host's command gets a window: the detached sessions' unused credit is back");
            }
        }
    }

    @Test
    void exitedWithStdinQueuedGivesItBack(HostConnection host) throws Exception {
        int seen = budgetLines(agent.process()).size();
        host.exec(1, ExecRequest.of("sh", "-c", "sleep 1; exit 3"));
        host.expect(1, MessageType.EXEC_STARTED);
        stdinMib(host, 1, 4);
        SessionResult r = host.collect(1, HostConnection.TIMEOUT);
        assertEquals(3, r.code());
        assertEquals(0, budgetAfter(agent.process(), seen));
    }

    @Test
    void stdinSentWithARequestThatFailsIsNeverQueued(HostConnection host) throws Exception {
        FrameEncoder encoder = new FrameEncoder();
        ByteArrayOutputStream oneWrite = new ByteArrayOutputStream();
        oneWrite.write(encoder.encode(new Frame(2, MessageType.EXEC_REQUEST, ExecRequest.of("/does/not/exist"))));
        oneWrite.write(encoder.encode(new Frame(2, MessageType.EXEC_STDIN, new ExecData(MIB))));
        host.sendRaw(oneWrite.toByteArray());
        SessionResult r = host.collect(2, HostConnection.TIMEOUT);
        assertEquals("not_found", r.failed().kind());
        // The failure is known before the stdin frame is read: no session, nothing queued.
        host.expectError(2, "invalid_session");
        int seen = budgetLines(agent.process()).size();
        host.run(4, ExecRequest.of("true"));
        assertEquals(0, budgetAfter(agent.process(), seen));
    }

    @Test
    void aStdinWriteErrorGivesItBack(HostConnection host) throws Exception {
        int seen = budgetLines(agent.process()).size();
        host.exec(3, ExecRequest.of("sh", "-c", "exec 0<&-; sleep 1"));
        host.expect(3, MessageType.EXEC_STARTED);
        stdinMib(host, 3, 2);
        SessionResult r = host.collect(3, HostConnection.TIMEOUT);
        assertEquals(0, r.code());
        assertTrue(r.stdinErrors().stream().anyMatch(e -> "EPIPE".equals(e.errnoName())), r.stdinErrors().toString());
        assertEquals(0, budgetAfter(agent.process(), seen));
    }

    @Test
    void creditGrantedAndNeverUsedIsGivenBack(HostConnection host) throws Exception {
        int seen = budgetLines(agent.process()).size();
        host.exec(4, ExecRequest.of("sleep", "1").withStdinWindow(true));
        host.expect(4, MessageType.EXEC_STARTED);
        assertEquals(0, host.collect(4, HostConnection.TIMEOUT).code());
        assertTrue(host.creditGranted(4) > 0, "credit was granted");
        assertEquals(0, budgetAfter(agent.process(), seen));
    }

    @Test
    void shutdownGivesItBack() throws Exception {
        try (AgentProcess process = AgentProcess.start("stdin-budget-shutdown", "--log-level", "debug");
                HostConnection host = process.connectReady()) {
            host.exec(1, ExecRequest.of("sleep", "600"));
            host.expect(1, MessageType.EXEC_STARTED);
            stdinMib(host, 1, 8);
            host.send(new Frame(0, MessageType.CORE_SHUTDOWN, null));
            SessionResult r = host.collect(1, HostConnection.TIMEOUT);
            assertEquals(143, r.code());
            assertEquals(0, process.awaitExit(Duration.ofSeconds(30)));
            assertEquals(0, budgetAfter(process, 0));
        }
    }
}
