package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 11, case 8: accept(2) failing for as long as the agent has no fd to spare (EMFILE), not even
 * the one it keeps in reserve (its limit is lowered below every fd it holds, so the reserve's number
 * is no use either; DescriptorExhaustionE2ETest has the case where it is). The waiting connection
 * keeps the listening socket readable; the agent must not spin on it nor write a line per turn, and
 * must serve the host once fds are available again.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AcceptBackoffE2ETest {
    private static final long OUT_OF_FDS_MILLIS = 3000;

    @Test
    void aLastingAcceptFailureBacksOffIsLoggedAtABoundedRateAndPassesWhenFdsAreBack() throws Exception {
        try (AgentProcess agent = AgentProcess.start("emfile")) {
            long pid = agent.pid(); // the launcher execs the JVM: same pid
            String[] limits = run("prlimit", "--pid", Long.toString(pid), "--nofile", "--output=SOFT,HARD",
                    "--noheadings").trim().split("\\s+");
            // Below every fd the agent holds: the next accept fails with EMFILE, also after the
            // reserve fd is given up.
            run("prlimit", "--pid", Long.toString(pid), "--nofile=3:" + limits[1]);
            long cpuBefore = Procs.cpuTicks(pid);
            try (HostConnection host = agent.connect()) {
                Thread.sleep(OUT_OF_FDS_MILLIS);
                long cpuTicks = Procs.cpuTicks(pid) - cpuBefore;
                long lines = agent.logText().lines().filter(l -> l.contains("accept failed")).count();
                assertTrue(lines >= 1 && lines <= 2, lines + " accept lines:\n" + agent.logText());
                assertTrue(cpuTicks < 50, cpuTicks + " clock ticks of CPU in " + OUT_OF_FDS_MILLIS + " ms out of fds");
                run("prlimit", "--pid", Long.toString(pid), "--nofile=" + limits[0] + ":" + limits[1]);
                host.expect(0, MessageType.CORE_READY);
                host.send(new Frame(1, MessageType.CORE_PING, Empty.INSTANCE));
                host.expect(1, MessageType.CORE_PONG);
            }
            agent.awaitLog("EMFILE");
        }
    }

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), String.join(" ", cmd) + ": " + out);
        return out;
    }
}
