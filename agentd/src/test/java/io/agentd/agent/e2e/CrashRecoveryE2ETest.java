package io.agentd.agent.e2e;

import static io.agentd.agent.e2e.UnanswerableInputE2ETest.awaitTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.session.SessionGroupRecords;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecStarted;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 11: an agent that dies (a fatal Error, SIGKILL) leaves its sessions running; the next agent
 * started on the same state directory kills them before it serves anyone, and touches nothing else.
 * These are the process-group records, the fallback where there are no session cgroups (--cgroup-root
 * none); SessionCgroupE2ETest has the same for cgroups.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class CrashRecoveryE2ETest {
    private static final Path E2E = Path.of(System.getProperty("user.dir"), "target/e2e");

    @Test
    void theNextAgentKillsWhatAKilledAgentLeftRunningBeforeItIsReady() throws Exception {
        Path state = newStateDir();
        List<Long> left = new ArrayList<>();
        try (AgentProcess first = AgentProcess.start("crashed", "--state-dir", state.toString(),
                "--cgroup-root", "none");
                HostConnection host = first.connectReady()) {
            for (long id = 1; id <= 3; id++) {
                host.exec(id, Requests.sh("sleep 300 & sleep 300"));
                long leader = ((ExecStarted) host.expect(id, MessageType.EXEC_STARTED).payload()).pid();
                awaitTrue(() -> Procs.groupMembers(leader).size() >= 2, Duration.ofSeconds(10), "sleeps not started");
                left.addAll(Procs.groupMembers(leader));
            }
            assertEquals(3, liveGroupsInJournals(state), "one record per live group: " + records(state));
            first.signal(9);
            first.awaitExit(Duration.ofSeconds(10));
        }
        for (long pid : left) {
            assertFalse(Procs.gone(pid), "pid " + pid + " died with the agent: nothing to recover");
        }
        try (AgentProcess second = AgentProcess.start("restarted", "--state-dir", state.toString(),
                "--cgroup-root", "none");
                HostConnection host = second.connectReady()) {
            for (long pid : left) {
                assertTrue(Procs.gone(pid), "pid " + pid + " left by the dead agent still runs at core.ready");
            }
            assertEquals(List.of(), records(state));
            assertTrue(second.logText().contains("WARN  SessionGroupRecords: killed 3 process group(s) left running by an agent that died"),
                    second.logText());
        }
    }

    /**
     * A record whose pid now belongs to an unrelated process (another start time) is dropped without
     * a signal; one whose agent still runs (agents sharing a state directory) is left to that agent.
     */
    @Test
    void aReusedPidAndALiveAgentsGroupAreLeftAlone() throws Exception {
        Path state = newStateDir();
        Process unrelated = new ProcessBuilder("setsid", "sleep", "300").start(); // its own group: pgid = pid
        Process another = new ProcessBuilder("setsid", "sleep", "300").start();
        try {
            long pid = unrelated.pid();
            awaitTrue(() -> Procs.groupMembers(pid).contains(pid), Duration.ofSeconds(10), "setsid sleep not started");
            awaitTrue(() -> Procs.groupMembers(another.pid()).contains(another.pid()), Duration.ofSeconds(10),
                    "setsid sleep not started");
            long deadAgent = deadPid();
            Files.writeString(recordsDir(state).resolve(Long.toString(pid)),
                    pid + " " + (Procs.startTicks(pid) + 1) + " " + deadAgent + " 0\n");
            long self = ProcessHandle.current().pid();
            Path liveAgentsRecord = recordsDir(state).resolve(Long.toString(another.pid()));
            Files.writeString(liveAgentsRecord, another.pid() + " " + Procs.startTicks(another.pid())
                    + " " + self + " " + Procs.startTicks(self) + "\n");
            try (AgentProcess agent = AgentProcess.start("reused", "--state-dir", state.toString(),
                    "--cgroup-root", "none");
                    HostConnection host = agent.connectReady()) {
                assertFalse(Procs.gone(pid), "an unrelated process with a recorded pid was killed");
                assertFalse(Procs.gone(another.pid()), "a live agent's group was killed");
                assertEquals(List.of(liveAgentsRecord.getFileName().toString()), records(state));
                assertTrue(agent.logText().contains("killed 0 process group(s)"), agent.logText());
            }
        } finally {
            unrelated.destroyForcibly();
            another.destroyForcibly();
        }
    }

    /**
     * A fatal Error in the loop (a real OutOfMemoryError: the operator allowed more stdin than the
     * heap holds) ends the agent at once with status 3; its session outlives it until the next start.
     */
    @Test
    void anOutOfMemoryErrorEndsTheAgentAndTheNextStartCleansUp() throws Exception {
        Path state = newStateDir();
        long sleeper;
        try (AgentProcess agent = AgentProcess.startWithJavaOpts("oom", "-Xmx32m", "--state-dir", state.toString(),
                "--stdin-limit", "1g", "--stdin-total", "1g");
                HostConnection host = agent.connectReady()) {
            host.exec(1, Requests.sh("exec sleep 300")); // never reads its stdin: everything queues
            sleeper = ((ExecStarted) host.expect(1, MessageType.EXEC_STARTED).payload()).pid();
            byte[] chunk = new byte[60_000];
            long sent = 0;
            try {
                while (agent.isAlive() && sent < (1L << 30)) {
                    host.stdin(1, chunk);
                    sent += chunk.length;
                }
            } catch (IOException agentGone) {
                // expected: the agent died under the flood
            }
            assertEquals(3, agent.awaitExit(Duration.ofSeconds(60)), agent.logText());
            assertTrue(agent.logText().contains("fatal error"), agent.logText());
        }
        assertFalse(Procs.gone(sleeper), "the session died with the agent: nothing to recover");
        try (AgentProcess next = AgentProcess.start("after-oom", "--state-dir", state.toString());
                HostConnection host = next.connectReady()) {
            assertTrue(Procs.gone(sleeper), "the dead agent's session still runs at core.ready");
        }
    }

    /** A state directory that cannot be made: one warning at start, and the agent serves without records. */
    @Test
    void anUnusableStateDirIsReportedOnceAndTheAgentServesWithoutIt() throws Exception {
        Path notADir = Files.writeString(newStateDir().resolve("a-file"), "");
        try (AgentProcess agent = AgentProcess.start("no-state", "--state-dir", notADir.resolve("state").toString());
                HostConnection host = agent.connectReady()) {
            assertEquals(0, host.run(1, Requests.sh("exit 0")).exited().code());
            assertEquals(1, agent.logText().lines().filter(l -> l.contains("cannot be used")).count(),
                    agent.logText());
        }
    }

    private static Path newStateDir() throws IOException {
        return Files.createTempDirectory(Files.createDirectories(E2E), "state-");
    }

    /** The state directory's records directory, made as an agent makes it (only its owner can enter it). */
    private static Path recordsDir(Path state) {
        SessionGroupRecords.open(state); // makes it; this test process's own records are never written
        return state.resolve(SessionGroupRecords.RECORDS_DIR);
    }

    private static List<String> records(Path state) throws IOException {
        try (Stream<Path> files = Files.list(state.resolve(SessionGroupRecords.RECORDS_DIR))) {
            return files.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).sorted().toList();
        }
    }

    /** Groups the agents' journals ({@code groups.PID.TICKS}: "+ pgid ticks" and "- pgid" lines) hold as live. */
    private static int liveGroupsInJournals(Path state) throws IOException {
        java.util.Set<String> live = new java.util.HashSet<>();
        for (String name : records(state)) {
            if (name.startsWith("groups.")) {
                for (String line : Files.readAllLines(state.resolve(SessionGroupRecords.RECORDS_DIR).resolve(name))) {
                    String[] f = line.split(" ");
                    if (f[0].equals("+")) {
                        live.add(f[1]);
                    } else {
                        live.remove(f[1]);
                    }
                }
            }
        }
        return live.size();
    }

    /** The pid of a process that has exited. */
    private static long deadPid() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        return p.pid();
    }
}
