package io.agentd.agent.e2e;

import static io.agentd.agent.e2e.Requests.sh;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecStarted;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Shutdown (by core.shutdown or SIGTERM) and host loss, each on an agent of its own. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ShutdownE2ETest {
    private static final String GRACE_MS = "500";

    @Test
    void shutdownWithSessionsRunningSendsEachItsExitedThenTheAgentExitsZero() throws Exception {
        try (AgentProcess agent = AgentProcess.start("shutdown", "--grace-ms", GRACE_MS);
                HostConnection host = agent.connect()) {
            host.expect(0, MessageType.CORE_READY);
            startThree(host);
            askForShutdown(host);
            expectThreeExited(host);
            assertEquals(0, agent.awaitExit(Duration.ofSeconds(30)));
        }
    }

    /**
     * The same stop, but the exit status says a signal began it (143, as for a process SIGTERM ended):
     * the guest's init powers the VM off on 0 only, and any root session can signal the agent.
     */
    @Test
    void sigtermToTheAgentShutsDownTheSameWayAndExits143() throws Exception {
        try (AgentProcess agent = AgentProcess.start("sigterm", "--grace-ms", GRACE_MS);
                HostConnection host = agent.connect()) {
            host.expect(0, MessageType.CORE_READY);
            startThree(host);
            agent.signal(15);
            expectThreeExited(host);
            assertEquals(143, agent.awaitExit(Duration.ofSeconds(30)));
        }
    }

    /**
     * SIGHUP (the terminal of a shell that started the agent with & closes) stops it the same way,
     * exit 129. Before, the JVM's default ended it at once: no line, the socket and the sessions
     * left behind until another agent started.
     */
    @Test
    void sighupToTheAgentShutsDownTheSameWayAndExits129() throws Exception {
        try (AgentProcess agent = AgentProcess.start("sighup", "--grace-ms", GRACE_MS);
                HostConnection host = agent.connect()) {
            host.expect(0, MessageType.CORE_READY);
            startThree(host);
            agent.signal(1);
            expectThreeExited(host);
            assertEquals(129, agent.awaitExit(Duration.ofSeconds(30)));
            assertTrue(agent.logText().contains("shutting down (SIGHUP)"), agent.logText());
            assertTrue(!java.nio.file.Files.exists(agent.dir().resolve("agent.sock")), "the socket is removed");
        }
    }

    /**
     * A signal the agent was started with ignored stays ignored (OPERATIONS.md, "agentd's exit status
     * and signals"): the JVM installs no handler for a SIGINT or SIGHUP it inherited ignored, so
     * `agentd &` from a script is not stopped by SIGINT, nor one under nohup by SIGHUP; SIGTERM
     * still stops it (143).
     */
    @Test
    void aSignalIgnoredAtStartStaysIgnoredAndSigtermStillStopsIt() throws Exception {
        try (AgentProcess agent = AgentProcess.startWithSignalsIgnored("signals-ignored", "INT HUP");
                HostConnection host = agent.connect()) {
            host.expect(0, MessageType.CORE_READY);
            agent.signal(2);
            agent.signal(1);
            Thread.sleep(500);
            host.send(new Frame(7, MessageType.CORE_PING, Empty.INSTANCE));
            host.expect(7, MessageType.CORE_PONG);
            assertTrue(agent.isAlive());
            agent.signal(15);
            assertEquals(143, agent.awaitExit(Duration.ofSeconds(30)));
        }
    }

    /** A host's shutdown begun first stays the reason: a SIGTERM during it changes nothing (exit 0). */
    @Test
    void aSigtermDuringAHostsShutdownLeavesItsExitZero() throws Exception {
        try (AgentProcess agent = AgentProcess.start("shutdown-then-sigterm", "--grace-ms", GRACE_MS);
                HostConnection host = agent.connect()) {
            host.expect(0, MessageType.CORE_READY);
            startThree(host);
            askForShutdown(host);
            agent.signal(15);
            expectThreeExited(host);
            assertEquals(0, agent.awaitExit(Duration.ofSeconds(30)));
        }
    }

    /**
     * A host's core.shutdown during a shutdown a SIGTERM began (a root session's `pkill java`, say):
     * the host asked to stop, so the agent exits 0 and init powers the VM off. Before, the signal's
     * 143 won and init restarted the agent.
     */
    @Test
    void aHostsShutdownDuringASigtermsShutdownExitsZero() throws Exception {
        try (AgentProcess agent = AgentProcess.start("sigterm-then-shutdown", "--grace-ms", GRACE_MS);
                HostConnection host = agent.connect()) {
            host.expect(0, MessageType.CORE_READY);
            startThree(host);
            agent.signal(15);
            Thread.sleep(500); // the signal's shutdown has begun (the sessions have their SIGTERM)
            askForShutdown(host);
            expectThreeExited(host);
            assertEquals(0, agent.awaitExit(Duration.ofSeconds(30)));
            assertTrue(agent.logText().contains("shutting down (SIGTERM)"), agent.logText());
        }
    }

    @Test
    void shutdownWithNothingRunningExitsZeroAtOnce() throws Exception {
        try (AgentProcess agent = AgentProcess.start("idle-shutdown");
                HostConnection host = agent.connect()) {
            host.expect(0, MessageType.CORE_READY);
            host.send(new Frame(0, MessageType.CORE_SHUTDOWN, null));
            assertEquals(0, agent.awaitExit(Duration.ofSeconds(10)));
        }
    }

    /** A unix-socket host that goes away takes its sessions with it; the next host is served. */
    @Test
    void hostDisconnectKillsItsSessionsAndTheNextHostIsServed() throws Exception {
        try (AgentProcess agent = AgentProcess.start("disconnect")) {
            long pid;
            try (HostConnection host = agent.connect()) {
                host.expect(0, MessageType.CORE_READY);
                host.exec(1, ExecRequest.of("sleep", "60"));
                pid = ((ExecStarted) host.expect(1, MessageType.EXEC_STARTED).payload()).pid();
            }
            long deadline = System.currentTimeMillis() + 3000;
            while (Files.exists(Path.of("/proc/" + pid)) && System.currentTimeMillis() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(!Files.exists(Path.of("/proc/" + pid)), "session killed and reaped after the host left");
            try (HostConnection host = agent.connect()) {
                host.expect(0, MessageType.CORE_READY);
                host.send(new Frame(1, MessageType.CORE_PING, Empty.INSTANCE));
                host.expect(1, MessageType.CORE_PONG);
                assertTrue(host.nothingMore(1, Duration.ofMillis(300)), "nothing of the old host's session 1");
            }
        }
    }

    /** core.shutdown, then proof that it has begun: a new session is refused. */
    private static void askForShutdown(HostConnection host) throws Exception {
        host.send(new Frame(0, MessageType.CORE_SHUTDOWN, null));
        host.exec(4, ExecRequest.of("true"));
        assertEquals("other", host.collect(4, HostConnection.TIMEOUT).failed().kind(),
                "no new session during shutdown");
    }

    /** sleep (dies of TERM), a TERM-ignoring loop (needs KILL), cat waiting on stdin. */
    private static void startThree(HostConnection host) throws Exception {
        host.exec(1, ExecRequest.of("sleep", "60"));
        host.exec(2, sh("trap '' TERM; echo armed; while :; do sleep 0.1; done"));
        host.exec(3, ExecRequest.of("cat"));
        for (long id = 1; id <= 3; id++) {
            host.expect(id, MessageType.EXEC_STARTED);
        }
        assertEquals(MessageType.EXEC_STDOUT, host.next(2).type(), "trap armed before the shutdown");
    }

    private static void expectThreeExited(HostConnection host) throws Exception {
        assertEquals(143, host.collect(1, HostConnection.TIMEOUT).code());
        assertEquals(137, host.collect(2, HostConnection.TIMEOUT).code(), "SIGKILL after the grace");
        assertEquals(143, host.collect(3, HostConnection.TIMEOUT).code());
    }
}
