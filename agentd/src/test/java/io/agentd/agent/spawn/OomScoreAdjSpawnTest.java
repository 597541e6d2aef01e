package io.agentd.agent.spawn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.protocol.payload.ExecFailed;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The agent sets its own oom_score_adj at its start (OomScoreAdj: -999 by default) and each spawn's
 * child writes back the value the agent was started with, before its exec and while it is still
 * privileged (native-shim's restore_oom_score_adj), so that the OOM killer takes a session's
 * processes before the agent. This host's root lacks CAP_SYS_RESOURCE, which lowering needs, but
 * raising needs none, and going back down to the value a process started with needs none either
 * (the kernel refuses only a value below the floor, oom_score_adj_min, which a write without the
 * capability leaves where it was): so the agent's part runs in a JVM of its own that raises itself
 * to 500, standing for the agent's -999, and its sessions must start with the value it was started
 * with, while it keeps 500. The floor a privileged write sets (a session cannot lower itself back to
 * the agent's value) needs the capability: the guest's VM test (OomVmTest) shows it. The child's
 * step fails the spawn when its write fails: under a seccomp filter refusing the open, on a thread
 * of this JVM. Needs root (a session as nobody), as StrictProfileTest does.
 */
@Timeout(120)
class OomScoreAdjSpawnTest {
    private static final boolean ARM64 = "aarch64".equals(System.getProperty("os.arch"));
    private static final long SYS_OPENAT = ARM64 ? 56 : 257;
    private static final int PR_SET_NO_NEW_PRIVS = 38;
    private static final int PR_SET_SECCOMP = 22;
    private static final int SECCOMP_MODE_FILTER = 2;
    private static final int CAP_SYS_RESOURCE = 24;
    private static final String RESULT = "result: ";

    /**
     * An agent at 500 (raised from the test JVM's value) starts its sessions at the value it was
     * started with, as root and as another user (the step comes before the user switch); the agent
     * keeps 500: the child's write was its own. Without the child's step both sessions read 500.
     */
    @Test
    void sessionsStartWithTheValueTheAgentWasStartedWithAndTheAgentKeepsItsOwn() throws Exception {
        int own = ownValue();
        assumeTrue(own < 500, "this JVM's oom_score_adj is " + own + ": nothing to raise it to");
        assertEquals(List.of("oom_score_adj 500 (sessions " + own + ")", "session " + own, "nobody's session " + own,
                "agent after 500"), resultsOf(inAgentJvm(500)));
    }

    /**
     * An agent whose lowering is refused (no CAP_SYS_RESOURCE: this host's root) says so once, and
     * its sessions inherit its value, which it did not change: the child is asked to write nothing.
     */
    @Test
    void anAgentRefusedTheLowerValueSaysSoAndItsSessionsInheritItsValue() throws Exception {
        assumeFalse(holdsSysResource(), "this process holds CAP_SYS_RESOURCE: the agent's lowering would succeed");
        int own = ownValue();
        String out = inAgentJvm(-999);
        assertEquals(List.of("oom_score_adj " + own + " (not set to -999: EACCES: lowering it needs CAP_SYS_RESOURCE)",
                "session " + own, "nobody's session " + own, "agent after " + own), resultsOf(out));
        assertEquals(1, out.lines().filter(l -> l.contains("cannot set the agent's oom_score_adj from " + own
                + " to -999 (EACCES: lowering it needs CAP_SYS_RESOURCE): the agent is not protected")).count(), out);
    }

    /**
     * Under a filter refusing every open for writing (EACCES), a spawn whose child must write its
     * value fails at that stage with the errno, reported as every stage's failure is; the same
     * spawn that need not write it starts, so the failure is the step's. Without the filter the
     * step's write goes through.
     */
    @Test
    void aChildThatCannotWriteItsValueFailsTheSpawnAtThatStage() throws Exception {
        int own = ownValue();
        // Stands for an agent that moved from its start value (this JVM's own) elsewhere: the child
        // writes the start value back, which here changes nothing, and is allowed.
        OomScoreAdj moved = new OomScoreAdj(own, -999, -999, null);
        assertEquals(Integer.toString(own), moved.childValue());
        Spawner writing = spawner(moved);
        Spawner inheriting = spawner(OomScoreAdj.INHERITED);
        SpawnSpec cat = ChildIo.spec("cat", List.of("/proc/self/oom_score_adj"), false);
        assertEquals(own + "\n", ChildIo.run(writing, cat).stdout(), "the write goes through");
        FilteredThread.run("oom-score-adj-refused", OomScoreAdjSpawnTest::installFilter, () -> {
            assertEquals(own + "\n", ChildIo.run(inheriting, cat).stdout(), "no step, no open for writing");
            ExecFailed f;
            try {
                ChildIo.Run started = ChildIo.run(writing, cat);
                fail("started although its oom_score_adj could not be written: " + started.stdout());
                return;
            } catch (SpawnFailure e) {
                f = e.failure();
            }
            assertEquals("oom_score_adj", f.stage(), f.message());
            assertEquals(LibC.EACCES, f.errno(), f.message());
            assertEquals("EACCES", f.errnoName());
            assertEquals("other", f.kind(), f.message());
            assertTrue(f.message().startsWith("cannot run \"cat\": giving the new process the oom_score_adj the agent"
                    + " was started with"), f.message());
        });
    }

    private static Spawner spawner(OomScoreAdj oomScoreAdj) {
        // No slots: a set of the test's own is not needed, and the process's set stays as it was.
        Spawner spawner = new Spawner(NativeShim.load(Path.of(System.getProperty(Spawner.SHIM_PROPERTY))),
                UserDb.system(), SpawnSlots.none());
        spawner.startChildrenWith(oomScoreAdj);
        return spawner;
    }

    private static int ownValue() {
        Integer own = OomScoreAdj.read(OomScoreAdj.SELF);
        assertNotNull(own, "cannot read " + OomScoreAdj.SELF);
        return own;
    }

    /** Whether this process's effective set holds CAP_SYS_RESOURCE. */
    private static boolean holdsSysResource() throws IOException {
        String capEff = Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("CapEff:"))
                .findFirst().orElseThrow().substring("CapEff:".length()).strip();
        return (Long.parseUnsignedLong(capEff, 16) >> CAP_SYS_RESOURCE & 1) == 1;
    }

    /** Runs {@link Agent} with {@code target} in a JVM of its own; everything it printed. */
    private static String inAgentJvm(int target) throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(java.toString(), "-Xmx64m", "-XX:+UseSerialGC",
                "-D" + Spawner.SHIM_PROPERTY + "=" + System.getProperty(Spawner.SHIM_PROPERTY),
                "-cp", System.getProperty("java.class.path"), Agent.class.getName(), Integer.toString(target))
                .redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), out);
        assertEquals(0, p.exitValue(), "the agent's JVM ended so:\n" + out);
        return out;
    }

    private static List<String> resultsOf(String out) {
        return out.lines().filter(l -> l.startsWith(RESULT)).map(l -> l.substring(RESULT.length()))
                .collect(Collectors.toList());
    }

    /**
     * In a JVM of its own, the agent's start as Main makes it: non-dumpable, then its oom_score_adj
     * set to args[0]; then a session as the agent's user and one as nobody, each printing its value.
     */
    static final class Agent {
        public static void main(String[] args) throws Exception {
            assertEquals(0, Os.libc().prctl(LibC.PR_SET_DUMPABLE, 0, 0, 0, 0), Os.errnoName(Os.errno()));
            OomScoreAdj set = OomScoreAdj.setForAgent(Integer.valueOf(args[0]));
            Spawner spawner = Spawner.fromSystemProperty();
            spawner.startChildrenWith(set);
            String asRoot = ChildIo.run(spawner, ChildIo.sh("cat /proc/self/oom_score_adj")).stdout();
            SpawnSpec nobody = new SpawnSpec("sh", List.of("-c", "cat /proc/self/oom_score_adj"),
                    EnvBuilder.build(List.of(), List.of(), false), "/", "nobody", false, 24, 80, List.of(),
                    Profile.DEFAULT);
            String asNobody = ChildIo.run(spawner, nobody).stdout();
            System.out.println(RESULT + set.describe());
            System.out.println(RESULT + "session " + asRoot.strip());
            System.out.println(RESULT + "nobody's session " + asNobody.strip());
            System.out.println(RESULT + "agent after " + OomScoreAdj.read(OomScoreAdj.SELF));
        }
    }

    /**
     * A filter on this thread (and its children) answering EACCES to every openat with O_WRONLY,
     * as an LSM's or a container's policy might refuse the child's write; checked on /dev/null.
     */
    private static void installFilter() {
        LibC libc = Os.libc();
        assertEquals(0, libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs: " + Os.errnoName(Os.errno()));
        // seccomp_data: nr at offset 0, args[2] at 32 (its low half first: little-endian, as x86-64
        // and aarch64 run). openat whose flags have O_WRONLY -> SECCOMP_RET_ERRNO | EACCES, all else allowed.
        ByteBuffer program = ByteBuffer.allocate(6 * 8).order(ByteOrder.nativeOrder());
        instruction(program, 0x20, 0, 0, 0);                         // BPF_LD | BPF_W | BPF_ABS: the number
        instruction(program, 0x15, 0, 3, (int) SYS_OPENAT);          // BPF_JMP | BPF_JEQ | BPF_K, else allow
        instruction(program, 0x20, 0, 0, 32);                        // the flags
        instruction(program, 0x45, 0, 1, LibC.O_WRONLY);             // BPF_JMP | BPF_JSET | BPF_K, else allow
        instruction(program, 0x06, 0, 0, 0x00050000 | LibC.EACCES);  // BPF_RET: the errno
        instruction(program, 0x06, 0, 0, 0x7fff0000);                // BPF_RET: allow
        ByteBuffer filter = Os.allocate(program.capacity());
        filter.put(0, program.array());
        ByteBuffer fprog = Os.allocate(16); // struct sock_fprog: len, then the pointer
        fprog.putShort(0, (short) 6);
        fprog.putLong(8, Os.address(filter));
        assertEquals(0, libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, Os.address(fprog), 0, 0),
                "seccomp filter: " + Os.errnoName(Os.errno()));
        java.lang.ref.Reference.reachabilityFence(filter); // the kernel read both through their addresses
        java.lang.ref.Reference.reachabilityFence(fprog);
        assertEquals(-1, libc.open(Os.cString("/dev/null"), LibC.O_WRONLY | LibC.O_CLOEXEC, 0));
        assertEquals(LibC.EACCES, Os.errno(), "the filter answers an open for writing: " + Os.errnoName(Os.errno()));
        int reading = libc.open(Os.cString("/dev/null"), LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        assertTrue(reading >= 0, "and lets an open for reading through: " + Os.errnoName(Os.errno()));
        Os.close(reading);
    }

    private static void instruction(ByteBuffer program, int code, int jumpIfTrue, int jumpIfFalse, int k) {
        program.putShort((short) code).put((byte) jumpIfTrue).put((byte) jumpIfFalse).putInt(k);
    }
}
