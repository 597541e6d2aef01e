package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecStarted;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A timed-out session on an agent without cgroups (--cgroup-root none) whose leader dies of the
 * SIGTERM while a member of its group ignores it: the member gets SIGKILL when the session ends,
 * as the cgroup's kill does with cgroups. Before, the leader's quick death cancelled the grace's
 * SIGKILL, and the member ran on after exited said timed_out.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TimeoutWithoutCgroupE2ETest {

    @Test
    void aMemberThatIgnoresSigtermDiesWhenTheTimedOutSessionEnds() throws Exception {
        try (AgentProcess agent = AgentProcess.start("timeout-no-cgroup", "--cgroup-root", "none", "--grace-ms", "500");
                HostConnection host = agent.connectReady()) {
            host.exec(1, Requests.withTimeout(Requests.sh("sh -c 'trap \"\" TERM; exec sleep 300' & sleep 300"), 3000));
            long leader = ((ExecStarted) host.expect(1, MessageType.EXEC_STARTED).payload()).pid();
            UnanswerableInputE2ETest.awaitTrue(() -> Procs.groupMembers(leader).size() >= 2, Duration.ofSeconds(10),
                    "both sleeps started");
            List<Long> members = Procs.groupMembers(leader);
            SessionResult r = host.collect(1, HostConnection.TIMEOUT);
            assertEquals(Boolean.TRUE, r.exited().timedOut());
            assertEquals(15, r.exited().signal(), "the leader died of the SIGTERM");
            for (long pid : members) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (!Procs.gone(pid) && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                assertTrue(Procs.gone(pid), "pid " + pid + " of the timed-out session's group still runs");
            }
            assertFalse(members.isEmpty());
        }
    }
}
