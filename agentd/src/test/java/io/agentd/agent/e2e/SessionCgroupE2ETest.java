package io.agentd.agent.e2e;

import static io.agentd.agent.e2e.Requests.sh;
import static io.agentd.agent.e2e.Requests.withTimeout;
import static io.agentd.agent.e2e.UnanswerableInputE2ETest.awaitTrue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecExited;
import io.agentd.protocol.payload.ExecFailed;
import io.agentd.protocol.payload.ExecRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Every session in its own cgroup (issue 13), on this machine's cgroup2. Needs root and a writable
 * cgroup2 mount (a hybrid layout's /sys/fs/cgroup/unified will do); skipped otherwise. Where the
 * mount has no memory or pids controller (a hybrid layout binds them to cgroup v1), limits must be
 * refused with a typed failure; the VM checks (scripts/guest/vm-test) cover the limits themselves.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SessionCgroupE2ETest {
    /** A grandchild that leaves the session's process group and prints its pid first. */
    private static final String SETSID_GRANDCHILD = "setsid sh -c 'echo $$; exec sleep 300' & sleep 300";

    @BeforeAll
    static void needsRootAndCgroup2() throws IOException {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
                "needs root: the agent makes cgroups under the cgroup2 mount");
        String mounts = Files.readString(Path.of("/proc/self/mountinfo"), StandardCharsets.UTF_8);
        Assumptions.assumeTrue(mounts.lines().anyMatch(l -> l.contains(" - cgroup2 ") && l.split(" ")[5].startsWith("rw")),
                "needs a writable cgroup2 mount");
    }

    @Test
    void aSetsidGrandchildOfATimedOutSessionIsDeadAtExited() throws Exception {
        try (AgentProcess agent = AgentProcess.start("cg-timeout", "--grace-ms", "500");
                HostConnection host = agent.connectReady()) {
            assumeSessionCgroups(agent);
            host.exec(1, withTimeout(sh(SETSID_GRANDCHILD), 500));
            host.expect(1, MessageType.EXEC_STARTED);
            long grandchild = firstLineOfStdout(host, 1);
            SessionResult r = host.collect(1, HostConnection.TIMEOUT);
            assertEquals(Boolean.TRUE, r.exited().timedOut());
            assertTrue(Procs.gone(grandchild), "the setsid'd grandchild runs on after exited");
        }
    }

    @Test
    void aSetsidGrandchildDiesWithTheHost() throws Exception {
        try (AgentProcess agent = AgentProcess.start("cg-hostloss")) {
            long grandchild;
            try (HostConnection host = agent.connectReady()) {
                assumeSessionCgroups(agent);
                host.exec(1, sh(SETSID_GRANDCHILD));
                host.expect(1, MessageType.EXEC_STARTED);
                grandchild = firstLineOfStdout(host, 1);
            }
            awaitTrue(() -> Procs.gone(grandchild), Duration.ofSeconds(5),
                    "the setsid'd grandchild outlived its host");
        }
    }

    @Test
    void aSetsidGrandchildDiesAtShutdownBeforeExited() throws Exception {
        try (AgentProcess agent = AgentProcess.start("cg-shutdown", "--grace-ms", "500");
                HostConnection host = agent.connectReady()) {
            assumeSessionCgroups(agent);
            host.exec(1, sh(SETSID_GRANDCHILD));
            host.expect(1, MessageType.EXEC_STARTED);
            long grandchild = firstLineOfStdout(host, 1);
            host.send(new Frame(0, MessageType.CORE_SHUTDOWN, null));
            host.collect(1, HostConnection.TIMEOUT);
            assertTrue(Procs.gone(grandchild), "the setsid'd grandchild runs on after exited");
            assertEquals(0, agent.awaitExit(Duration.ofSeconds(30)));
        }
    }

    /** The shell spins, then prints its own /proc/PID/stat: utime + stime against exited's counts. */
    @Test
    void exitedReportsTheCpuTimeProcShowed() throws Exception {
        try (AgentProcess agent = AgentProcess.start("cg-cpu");
                HostConnection host = agent.connectReady()) {
            assumeSessionCgroups(agent);
            SessionResult r = host.run(1, sh("i=0; while [ $i -lt 1000000 ]; do i=$((i+1)); done; cat /proc/$$/stat"));
            assertEquals(0, r.code(), r.err());
            String stat = r.out().trim();
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
            long procUs = ticks * 1_000_000 / clockTicksPerSecond();
            ExecExited exited = r.exited();
            assertNotNull(exited.usage().cpuUserUs(), "cpu_user_us");
            assertNotNull(exited.usage().cpuSystemUs(), "cpu_system_us");
            long cgroupUs = exited.usage().cpuUserUs() + exited.usage().cpuSystemUs();
            assertTrue(procUs > 200_000, "the loop ran too briefly to compare: " + procUs + " us");
            // The cgroup also counts the fork and exec of cat, and /proc's ticks are sampled (a
            // loaded 2-core machine showed 242 against 220 ms): 10% and 50 ms of slack, far under
            // a count in the wrong unit, of one kind of time only, or of nothing.
            assertTrue(Math.abs(cgroupUs - procUs) <= procUs / 10 + 50_000,
                    "exited says " + cgroupUs + " us of CPU, /proc/PID/stat said " + procUs + " us");
            agent.awaitLog("cpu_user_us=" + exited.usage().cpuUserUs());
        }
    }

    /** Without the memory and pids controllers, a limit is refused, typed, never ignored, and why is said. */
    @Test
    void limitsWithoutTheirControllerAreRefusedTyped() throws Exception {
        try (AgentProcess agent = AgentProcess.start("cg-limits");
                HostConnection host = agent.connectReady()) {
            assumeSessionCgroups(agent);
            // What the subtree has: the start line goes on with the ones it lacks and why.
            String line = controllersLine(agent);
            String controllers = line.replaceAll(".*\\(controllers: ([^;)]*).*", "$1");
            Assumptions.assumeFalse(controllers.contains("memory") || controllers.contains("pids"),
                    "this cgroup2 has the memory or pids controller: the VM checks cover the limits");
            assertTrue(line.matches(".*; (\\w+ )*memory( \\w+)* not available: .+"), "no reason given: " + line);
            ExecFailed memory = host.run(1, ExecRequest.of("true").withLimits(64L << 20, null)).failed();
            assertEquals("resource_limit", memory.kind());
            assertEquals("cgroup", memory.stage());
            assertTrue(memory.message().contains("memory controller"), memory.message());
            // ... and the refusal says why too (on a hybrid host: bound to cgroup v1; in a service's
            // cgroup: its parent holds the agent).
            assertTrue(memory.message().matches(".*memory controller, which is not available in \\S+: .+"),
                    memory.message());
            ExecFailed pids = host.run(2, ExecRequest.of("true").withLimits(null, 32L)).failed();
            assertEquals("resource_limit", pids.kind());
            assertTrue(pids.message().contains("pids controller"), pids.message());
            // A request the spawn refuses (a NUL in an argument) is bad_args whatever limit it also
            // asks for: it is looked at before its cgroup is made (it was resource_limit at cgroup).
            ExecFailed bad = host.run(4, ExecRequest.of("echo", "a\0b").withLimits(null, 32L)).failed();
            assertEquals("bad_args", bad.kind(), bad.toString());
            assertEquals(0, host.run(3, ExecRequest.of("true")).code(), "the agent serves on");
        }
    }

    /** Each session has a cgroup of its own, removed once its last process is gone (background ones too). */
    @Test
    void eachSessionHasItsOwnCgroupRemovedOnceEmpty() throws Exception {
        try (AgentProcess agent = AgentProcess.start("cg-remove", "--drain-ms", "100");
                HostConnection host = agent.connectReady()) {
            assumeSessionCgroups(agent);
            Path root = cgroupRoot(agent);
            Path first = sessionCgroup(root, host.run(1, sh("cat /proc/self/cgroup")));
            Path second = sessionCgroup(root, host.run(2, sh("cat /proc/self/cgroup; sleep 1 > /dev/null 2>&1 &")));
            assertFalse(first.equals(second), "two sessions, one cgroup: " + first);
            assertFalse(Files.exists(first), first + " outlived its session");
            assertTrue(Files.exists(second), second + " removed while its background sleep runs");
            awaitTrue(() -> !Files.exists(second), Duration.ofSeconds(5), second + " left after its sleep ended");
        }
    }

    /**
     * A root session that makes cgroups inside its own (a tool that nests them): its cgroup goes at
     * its end with them. Before, the rmdir failed EBUSY at every sweep, and at every later start.
     */
    @Test
    void aSessionCgroupWithCgroupsMadeInsideItIsRemovedWithThem() throws Exception {
        try (AgentProcess agent = AgentProcess.start("cg-nested", "--drain-ms", "100");
                HostConnection host = agent.connectReady()) {
            assumeSessionCgroups(agent);
            Path root = cgroupRoot(agent);
            SessionResult r = host.run(1, sh("cat /proc/self/cgroup; d=$(awk '/ - cgroup2 /{print $5; exit}' /proc/self/mountinfo)$(sed -n 's/^0:://p' /proc/self/cgroup);"
                    + " [ -f \"$d/cgroup.procs\" ] &&"
                    + " mkdir -p \"$d/made/inside\" \"$d/another\""));
            assertEquals(0, r.exited().code(), r.err());
            Path cgroup = sessionCgroup(root, r);
            awaitTrue(() -> !Files.exists(cgroup), Duration.ofSeconds(5), cgroup + " left with the cgroups made inside it");
        }
    }

    /**
     * From 8 live sessions on, a housekeeping thread removes released cgroups. What it holds still
     * dies with the host: an ended session's setsid'd grandchild, released while busy, is killed at
     * host loss, every session's cgroup goes, and the agent's shutdown removes its spares. (A guard
     * for the hand-over, not a test of it: the loop alone passed it too.)
     */
    @Test
    void whenBusyAnEndedSessionsGrandchildStillDiesWithTheHostAndNoCgroupOutlivesTheAgent() throws Exception {
        List<Path> seen = new ArrayList<>();
        long grandchild;
        Path root;
        try (AgentProcess agent = AgentProcess.start("cg-busy", "--drain-ms", "100")) {
            try (HostConnection host = agent.connectReady()) {
                assumeSessionCgroups(agent);
                root = cgroupRoot(agent);
                for (int id = 1; id <= 8; id++) {
                    host.exec(id, sh("cat /proc/self/cgroup; exec sleep 300"));
                    host.expect(id, MessageType.EXEC_STARTED);
                    Frame out = host.expect(id, MessageType.EXEC_STDOUT);
                    seen.add(cgroupIn(root, new String(((ExecData) out.payload()).data(), StandardCharsets.US_ASCII)));
                }
                SessionResult r = host.run(9, sh("cat /proc/self/cgroup; "
                        + "setsid sh -c 'echo grandchild $$; exec sleep 300 > /dev/null 2>&1' & sleep 0.3"));
                seen.add(sessionCgroup(root, r));
                grandchild = Long.parseLong(r.out().lines().filter(l -> l.startsWith("grandchild "))
                        .findFirst().orElseThrow().substring("grandchild ".length()));
                assertTrue(Files.exists(seen.get(8)), "removed while its grandchild runs");
            }
            awaitTrue(() -> Procs.gone(grandchild), Duration.ofSeconds(5), "the setsid'd grandchild outlived its host");
            awaitTrue(() -> seen.stream().noneMatch(Files::exists), Duration.ofSeconds(5),
                    "session cgroups left after their host: " + seen);
        }
        String name = seen.get(0).getFileName().toString();
        String agentsPrefix = name.substring(0, name.lastIndexOf('-') + 1);
        try (Stream<Path> dirs = Files.list(root)) {
            List<Path> left = dirs.filter(d -> d.getFileName().toString().startsWith(agentsPrefix)).toList();
            assertEquals(List.of(), left, "cgroups (spares?) the agent left at its exit");
        }
    }

    private static Path sessionCgroup(Path root, SessionResult r) {
        return cgroupIn(root, r.out());
    }

    /** The session cgroup that /proc/self/cgroup's text names (its cgroup2 line, "0::/PATH"), under {@code root}. */
    private static Path cgroupIn(Path root, String procSelfCgroup) {
        String line = procSelfCgroup.lines().filter(l -> l.startsWith("0::")).findFirst().orElseThrow();
        return root.resolve(Path.of(line.substring(3)).getFileName());
    }

    /** The subtree the agent's start line names ("session cgroups under DIR (controllers: ...)"). */
    private static Path cgroupRoot(AgentProcess agent) {
        return Path.of(controllersLine(agent).replaceAll(".*session cgroups under (\\S+) .*", "$1"));
    }

    /**
     * An agent killed with SIGKILL leaves its sessions' cgroups; the next one empties them before ready.
     * Both agents use a --cgroup-root of this test's own: in the shared subtree any agent that starts
     * meanwhile (another test run's on this machine) empties the dead agent's cgroups first, and the
     * next agent then has nothing to report.
     */
    @Test
    void theNextAgentKillsADeadAgentsSessionCgroupsBeforeReady() throws Exception {
        Path root;
        try (AgentProcess probe = AgentProcess.start("cg-probe")) {
            assumeSessionCgroups(probe);
            root = cgroupRoot(probe)
                    .resolve("test-crashed-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        }
        try {
            long grandchild;
            try (AgentProcess first = AgentProcess.start("cg-crashed", "--cgroup-root", root.toString());
                    HostConnection host = first.connectReady()) {
                assumeSessionCgroups(first);
                host.exec(1, sh(SETSID_GRANDCHILD));
                host.expect(1, MessageType.EXEC_STARTED);
                grandchild = firstLineOfStdout(host, 1);
                first.signal(9);
                first.awaitExit(Duration.ofSeconds(10));
            }
            assertFalse(Procs.gone(grandchild), "the grandchild died with the agent: nothing to recover");
            try (AgentProcess second = AgentProcess.start("cg-restarted", "--cgroup-root", root.toString());
                    HostConnection host = second.connectReady()) {
                assertTrue(Procs.gone(grandchild), "the dead agent's grandchild still runs at core.ready");
                second.awaitLog("left by an agent that died");
            }
            removeTestRoot(root);
            assertFalse(Files.exists(root), "this test's cgroup root is left in the shared subtree: " + root);
        } finally {
            removeTestRoot(root);
        }
    }

    /**
     * This test's --cgroup-root, made in the subtree every agent on this machine shares: the agents
     * made sessions/ in it (kept at their exit, with its memory.max, for the next agent), which holds
     * the root until it is removed first; a cgroup directory goes only with rmdir, once empty.
     */
    private static void removeTestRoot(Path root) {
        for (Path dir : new Path[] {root.resolve("sessions"), root}) {
            try {
                Files.deleteIfExists(dir);
            } catch (IOException e) {
                // still holds a cgroup (a failed run): left for the machine's next boot
            }
        }
    }

    private static long firstLineOfStdout(HostConnection host, long id) throws InterruptedException {
        Frame f = host.expect(id, MessageType.EXEC_STDOUT);
        String text = new String(((ExecData) f.payload()).data(), StandardCharsets.US_ASCII);
        return Long.parseLong(text.trim().split("\n")[0].trim());
    }

    private static void assumeSessionCgroups(AgentProcess agent) {
        Assumptions.assumeTrue(agent.logText().contains("session cgroups under"),
                "the agent found no cgroup2 for sessions: " + agent.logText());
    }

    private static String controllersLine(AgentProcess agent) {
        return agent.logText().lines().filter(l -> l.contains("session cgroups under")).findFirst().orElse("");
    }

    private static long clockTicksPerSecond() throws IOException, InterruptedException {
        Process p = new ProcessBuilder("getconf", "CLK_TCK").start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
        p.waitFor();
        return Long.parseLong(out);
    }
}
