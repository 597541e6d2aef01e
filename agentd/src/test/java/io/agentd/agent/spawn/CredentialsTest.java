package io.agentd.agent.spawn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Credentials on both sides of a spawn. The child's, read from its /proc/self/status, are exactly
 * what was asked for; the agent's own, on every thread, are untouched however many spawns switched
 * user: the child uses raw setresuid/setresgid/setgroups, never glibc's, whose setxid broadcast would
 * have changed the JVM's threads too. Needs root; uses UserAndProfileTest's test user.
 */
@Timeout(300)
class CredentialsTest {
    private static final String USER = "agentd-test";
    private static final long CAP_SYS_ADMIN = 1L << 21;
    private static final int SPAWNS = 10_000;
    /** How long the spawns may take before the test dumps where they are: less than the class's @Timeout. */
    private static final long SPAWNS_WAIT_SECONDS = 240;

    @BeforeAll
    static void testUser() throws Exception {
        UserAndProfileTest.createTestUser();
    }

    private static Map<String, String> childStatus(String user, boolean restricted) throws Exception {
        SpawnSpec spec = new SpawnSpec("cat", List.of("/proc/self/status"),
                EnvBuilder.build(List.of(), List.of(), false), "/", user, false,
                24, 80, List.of(), restricted ? Profile.RESTRICTED : Profile.DEFAULT);
        ChildIo.Run r = ChildIo.run(spec);
        assertEquals(0, r.status().code(), r.stderr());
        return fields(r.stdout());
    }

    private static Map<String, String> fields(String status) {
        Map<String, String> fields = new HashMap<>();
        for (String line : status.split("\n")) {
            int colon = line.indexOf(':');
            if (colon > 0) {
                fields.put(line.substring(0, colon), line.substring(colon + 1).trim());
            }
        }
        return fields;
    }

    private static Map<String, String> agentStatus() throws IOException {
        return fields(String.join("\n", Files.readAllLines(Path.of("/proc/self/status"))));
    }

    private static String four(long id) {
        return id + "\t" + id + "\t" + id + "\t" + id;
    }

    private static long caps(Map<String, String> status, String set) {
        return Long.parseUnsignedLong(status.get(set), 16);
    }

    /**
     * The child shares the agent's memory until its exec, and the kernel sets that memory's dumpable
     * flag to fs.suid_dumpable whenever the effective uid changes: with the sysctl at 1, a spawn as
     * another user left the agent dumpable for good (and the child, between its setresuid and its
     * exec a process of that user, could be ptraced into the agent's memory). The child sets it
     * back to 0 right after setresuid. The sysctl is restored afterwards.
     */
    @Test
    void aSpawnAsAnotherUserLeavesTheAgentUndumpableWhateverSuidDumpableSays() throws Exception {
        final int prGetDumpable = 3;
        Path sysctl = Path.of("/proc/sys/fs/suid_dumpable");
        String before = Files.readString(sysctl).trim();
        int dumpableBefore = io.agentd.agent.sys.Os.libc().prctl(prGetDumpable, 0, 0, 0, 0);
        try {
            Files.writeString(sysctl, "1");
            assertEquals(0, io.agentd.agent.sys.Os.libc().prctl(io.agentd.agent.sys.LibC.PR_SET_DUMPABLE, 0, 0, 0, 0));
            Map<String, String> child = childStatus(USER, false);
            assertEquals(four(UserDb.system().resolve(USER).uid()), child.get("Uid"), "the child ran as the user");
            assertEquals(0, io.agentd.agent.sys.Os.libc().prctl(prGetDumpable, 0, 0, 0, 0),
                    "the agent (here the test JVM) is still not dumpable");
        } finally {
            Files.writeString(sysctl, before);
            io.agentd.agent.sys.Os.libc().prctl(io.agentd.agent.sys.LibC.PR_SET_DUMPABLE, dumpableBefore, 0, 0, 0);
        }
    }

    @Test
    void anotherUserGetsExactlyItsIdsAndGroupsAndNoCapabilities() throws Exception {
        TargetUser u = UserDb.system().resolve(USER);
        String groups = Arrays.stream(u.groups()).sorted().distinct().mapToObj(Integer::toString)
                .collect(Collectors.joining(" "));
        Map<String, String> agent = agentStatus();
        for (boolean restricted : new boolean[] {false, true}) {
            Map<String, String> child = childStatus(USER, restricted);
            String as = "restricted=" + restricted + ": ";
            assertEquals(four(u.uid()), child.get("Uid"), as + "real, effective, saved, fs uid");
            assertEquals(four(u.gid()), child.get("Gid"), as);
            assertEquals(groups, child.get("Groups"), as);
            assertEquals(0L, caps(child, "CapEff"), as);
            assertEquals(0L, caps(child, "CapPrm"), as);
            assertEquals(0L, caps(child, "CapAmb"), as);
            assertEquals(restricted ? caps(agent, "CapBnd") & ~CAP_SYS_ADMIN : caps(agent, "CapBnd"),
                    caps(child, "CapBnd"), as);
            assertEquals(restricted ? "1" : "0", child.get("NoNewPrivs"), as);
        }
    }

    @Test
    void numericIdsWithoutEntriesGetNoSupplementaryGroups() throws Exception {
        Map<String, String> child = childStatus("4242:4343", false);
        assertEquals(four(4242), child.get("Uid"));
        assertEquals(four(4343), child.get("Gid"));
        assertEquals("", child.get("Groups"));
    }

    @Test
    void theAgentsOwnUserKeepsItsIdsGroupsAndCapabilitiesUnlessRestricted() throws Exception {
        Map<String, String> agent = agentStatus();
        for (boolean restricted : new boolean[] {false, true}) {
            Map<String, String> child = childStatus(null, restricted);
            String as = "restricted=" + restricted + ": ";
            assertEquals(agent.get("Uid"), child.get("Uid"), as);
            assertEquals(agent.get("Gid"), child.get("Gid"), as);
            assertEquals(agent.get("Groups"), child.get("Groups"), as);
            long drop = restricted ? CAP_SYS_ADMIN : 0;
            assertEquals(caps(agent, "CapEff") & ~drop, caps(child, "CapEff"), as);
            assertEquals(caps(agent, "CapBnd") & ~drop, caps(child, "CapBnd"), as);
            assertEquals(restricted ? "1" : "0", child.get("NoNewPrivs"), as);
        }
    }

    @Test
    void theAgentsCredentialsOnEveryThreadAreUnchangedAfterTenThousandSpawnsAsOtherUsers() throws Exception {
        Map<String, String> before = threadCredentials();
        assertTrue(before.size() > 1, "the JVM has several threads: " + before.keySet());
        String[] users = {"nobody", USER, "4242:4343", "65534:65534"};
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    for (int i = thread; i < SPAWNS; i += 4) {
                        SpawnSpec spec = new SpawnSpec("/bin/true", List.of(),
                                EnvBuilder.build(List.of(), List.of(), false), null, users[i % users.length],
                                false, 24, 80, List.of(), i % 2 == 0 ? Profile.RESTRICTED : Profile.DEFAULT);
                        assertEquals(0, ChildIo.run(spec).status().code());
                    }
                    return null;
                }));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(SPAWNS_WAIT_SECONDS);
            for (Future<?> f : done) {
                try {
                    f.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (TimeoutException e) {
                    // Usually 40-50 s; one CI run took over 300 s here, with nothing to say where.
                    throw new AssertionError("spawns still running after " + SPAWNS_WAIT_SECONDS + " s:\n"
                            + whereTheSpawnersAre(), e);
                }
            }
        } finally {
            pool.shutdownNow();
        }
        Map<String, String> after = threadCredentials();
        for (Map.Entry<String, String> thread : after.entrySet()) {
            assertEquals(before.values().iterator().next(), thread.getValue(), "thread " + thread.getKey());
        }
    }

    /** The spawning threads' stacks and this JVM's children with their state and kernel wait channel. */
    private static String whereTheSpawnersAre() {
        StringBuilder out = new StringBuilder();
        Thread.getAllStackTraces().forEach((thread, stack) -> {
            if (thread.getName().startsWith("pool-")) {
                out.append(thread.getName()).append(' ').append(thread.getState()).append('\n');
                Arrays.stream(stack).limit(12).forEach(frame -> out.append("    at ").append(frame).append('\n'));
            }
        });
        try {
            for (int pid : JvmChildren.pids()) {
                Path proc = Path.of("/proc", String.valueOf(pid));
                out.append("child ").append(pid).append(": ").append(readOrWhy(proc.resolve("stat")))
                        .append(" wchan ").append(readOrWhy(proc.resolve("wchan")))
                        .append(" syscall ").append(readOrWhy(proc.resolve("syscall"))).append('\n');
            }
        } catch (IOException e) {
            out.append("children not listed: ").append(e);
        }
        return out.toString();
    }

    private static String readOrWhy(Path file) {
        try {
            return Files.readString(file).trim();
        } catch (IOException e) {
            return "(" + e.getClass().getSimpleName() + ")";
        }
    }

    /** Uid, Gid, Groups and CapEff of every thread of this JVM, by tid and name. */
    private static Map<String, String> threadCredentials() throws IOException {
        Map<String, String> byThread = new TreeMap<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path task : tasks) {
                Map<String, String> status;
                try {
                    status = fields(String.join("\n", Files.readAllLines(task.resolve("status"))));
                } catch (IOException exited) {
                    continue;
                }
                byThread.put(task.getFileName() + " " + status.get("Name"), "Uid " + status.get("Uid") + " Gid "
                        + status.get("Gid") + " Groups " + status.get("Groups") + " CapEff " + status.get("CapEff"));
            }
        }
        return byThread;
    }
}
