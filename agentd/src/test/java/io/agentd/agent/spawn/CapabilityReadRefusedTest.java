package io.agentd.agent.spawn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.protocol.payload.ExecFailed;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Spawns a confined root target from a thread under a seccomp filter that answers EPERM to
 * prctl(PR_CAPBSET_READ), as a container runtime's filter might (the filter is the thread's own and
 * its children inherit it; the rest of this JVM is untouched). The profile's capability step fails
 * with that errno, and the spawn with it, reported as every other stage's failure is. Before, the
 * strict profile's loop over the bounding set took the first -1 for the end of the capabilities and
 * the restricted one took it for "not in the set": nothing was dropped, and the command started as
 * root with a full bounding set (a file-capability program then gave it CAP_SYS_ADMIN back). Needs
 * root, as StrictProfileTest does.
 */
@Timeout(60)
class CapabilityReadRefusedTest {
    private static final boolean ARM64 = "aarch64".equals(System.getProperty("os.arch"));
    private static final long SYS_PRCTL = ARM64 ? 167 : 157;
    private static final int PR_CAPBSET_READ = 23;
    private static final int CAP_SYS_ADMIN = 21;
    private static final int CAP_AUDIT_READ = 37;
    private static final int PR_SET_NO_NEW_PRIVS = 38;
    private static final int PR_SET_SECCOMP = 22;
    private static final int SECCOMP_MODE_FILTER = 2;

    @Test
    void aStrictSpawnFailsAtItsCapabilityStepWithTheFiltersErrno() throws Exception {
        assertRefused(Profile.STRICT, LibC.EPERM, "EPERM", "permission_denied", 0);
    }

    @Test
    void aRestrictedSpawnFailsAtItsCapabilityStepWithTheFiltersErrno() throws Exception {
        assertRefused(Profile.RESTRICTED, LibC.EPERM, "EPERM", "permission_denied", 0);
    }

    /**
     * A filter answering EINVAL, the kernel's own answer past its last capability, ended the strict
     * loop at capability 0 as if the kernel knew none: no kernel since 3.16 ends below
     * CAP_AUDIT_READ (37), so an end there fails the step.
     */
    @Test
    void aStrictSpawnFailsWhenTheBoundingSetEndsTooSoon() throws Exception {
        assertRefused(Profile.STRICT, LibC.EINVAL, "EINVAL", "other", 0);
    }

    /**
     * A filter answering EINVAL only past CAP_AUDIT_READ (37) ended the loop at 38, and the target
     * started with 38 up to the kernel's last in its bounding set (CapBnd 000001c000000000 on a
     * kernel whose last is 40): the EINVAL is a refusal up to the last the agent read from
     * /proc/sys/kernel/cap_last_cap. Needs a kernel that knows capability 38 (5.8).
     */
    @Test
    void aStrictSpawnFailsWhenAFilterEndsTheBoundingSetPastCapAuditRead() throws Exception {
        assumeTrue(LastCapability.read(LastCapability.KERNEL_FILE).orElse(0) > CAP_AUDIT_READ,
                "the kernel's last capability is CAP_AUDIT_READ: nothing past it to leave in the set");
        assertRefused(Profile.STRICT, LibC.EINVAL, "EINVAL", "other", CAP_AUDIT_READ + 1);
    }

    /**
     * A filter answering 0 ("not in the set") past the kernel's last capability, where the kernel
     * answers EINVAL, kept the strict loop asking until the spawn guard killed the child: the loop
     * ends at 64, past which no capability exists, and the target starts with its set empty.
     */
    @Test
    void aStrictSpawnEndsTheBoundingSetAt64WhenAFilterNeverSaysItEnded() throws Exception {
        int last = LastCapability.read(LastCapability.KERNEL_FILE).orElseThrow();
        FilteredThread.run("capbset-read-never-ends", () -> installFilter(0, last + 1), () -> {
            ChildIo.Run r = ChildIo.run(capBnd(Profile.STRICT));
            assertEquals("CapBnd:\t0000000000000000\n", r.stdout(), r.stderr());
        });
    }

    @Test
    void withoutTheFilterAStrictRootTargetStartsWithAnEmptyBoundingSet() throws Exception {
        ChildIo.Run r = ChildIo.run(capBnd(Profile.STRICT));
        assertEquals("CapBnd:\t0000000000000000\n", r.stdout(), r.stderr());
    }

    private static SpawnSpec capBnd(Profile profile) {
        return new SpawnSpec("grep", List.of("CapBnd", "/proc/self/status"), EnvBuilder.build(List.of(), List.of(),
                false), "/", null, false, 24, 80, List.of(), profile);
    }

    /** The spawn fails at the capability step under a filter answering {@code errno} from {@code fromCap} up. */
    private static void assertRefused(Profile profile, int errno, String errnoName, String kind, int fromCap)
            throws Exception {
        onFilteredThread(errno, fromCap, () -> {
            ExecFailed f;
            try {
                ChildIo.Run started = ChildIo.run(capBnd(profile));
                fail(profile + ": started although the bounding set could not be read: " + started.stdout());
                return;
            } catch (SpawnFailure e) {
                f = e.failure();
            }
            assertEquals("prctl(PR_CAPBSET_DROP)", f.stage(), f.message());
            assertEquals(errno, f.errno(), f.message());
            assertEquals(errnoName, f.errnoName());
            assertEquals(kind, f.kind(), f.message());
            assertTrue(f.message().contains("applying the " + profile.wireName() + " profile"), f.message());
        });
    }

    /**
     * Runs {@code body} on a new thread that first installs the filter, which answers {@code errno} to
     * PR_CAPBSET_READ of capability {@code fromCap} and above (0: a return of 0, "not in the set");
     * a failure there is rethrown. Also
     * checks the filter works: the first capability it answers (CAP_SYS_ADMIN when it answers all)
     * is 1 for root from the kernel, the errno from the filter, and the one below it is still read.
     */
    private static void onFilteredThread(int errno, int fromCap, FilteredThread.Step body) throws Exception {
        FilteredThread.run("capbset-read-refused", () -> installFilter(errno, fromCap), body);
    }

    private static void installFilter(int errno, int fromCap) {
        LibC libc = Os.libc();
        int probe = Math.max(fromCap, CAP_SYS_ADMIN);
        // Past the kernel's last capability (a filter answering 0 there) the kernel answers EINVAL.
        boolean pastTheLast = errno == 0;
        assertEquals(pastTheLast ? -1 : 1, libc.prctl(PR_CAPBSET_READ, probe, 0, 0, 0),
                "root's bounding set has capability " + probe + " (or the kernel knows none there)");
        assertEquals(0, libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs: " + Os.errnoName(Os.errno()));
        // seccomp_data: nr at offset 0, args[0] at 16, args[1] at 24 (their low halves first:
        // little-endian, as x86-64 and aarch64 run). prctl with PR_CAPBSET_READ of a capability from
        // fromCap up -> SECCOMP_RET_ERRNO | errno, all else allowed.
        ByteBuffer program = ByteBuffer.allocate(8 * 8).order(ByteOrder.nativeOrder());
        instruction(program, 0x20, 0, 0, 0);                    // BPF_LD | BPF_W | BPF_ABS: the number
        instruction(program, 0x15, 0, 5, (int) SYS_PRCTL);      // BPF_JMP | BPF_JEQ | BPF_K, else allow
        instruction(program, 0x20, 0, 0, 16);                   // the option
        instruction(program, 0x15, 0, 3, PR_CAPBSET_READ);
        instruction(program, 0x20, 0, 0, 24);                   // the capability
        instruction(program, 0x35, 0, 1, fromCap);              // BPF_JMP | BPF_JGE | BPF_K
        instruction(program, 0x06, 0, 0, 0x00050000 | errno);   // BPF_RET: the errno
        instruction(program, 0x06, 0, 0, 0x7fff0000);           // BPF_RET: allow
        ByteBuffer filter = Os.allocate(program.capacity());
        filter.put(0, program.array());
        ByteBuffer fprog = Os.allocate(16); // struct sock_fprog: len, then the pointer
        fprog.putShort(0, (short) 8);
        fprog.putLong(8, Os.address(filter));
        assertEquals(0, libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, Os.address(fprog), 0, 0),
                "seccomp filter: " + Os.errnoName(Os.errno()));
        java.lang.ref.Reference.reachabilityFence(filter); // the kernel read both through their addresses
        java.lang.ref.Reference.reachabilityFence(fprog);
        if (pastTheLast) {
            assertEquals(0, libc.prctl(PR_CAPBSET_READ, probe, 0, 0, 0), "the filter answers 0");
        } else {
            assertEquals(-1, libc.prctl(PR_CAPBSET_READ, probe, 0, 0, 0));
            assertEquals(errno, Os.errno(), "the filter answers PR_CAPBSET_READ: " + Os.errnoName(Os.errno()));
        }
        if (fromCap > 0) {
            assertEquals(1, libc.prctl(PR_CAPBSET_READ, fromCap - 1, 0, 0, 0), "and not below capability " + fromCap);
        }
        assertNotEquals(-1, libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "and lets other prctl options through");
    }

    private static void instruction(ByteBuffer program, int code, int jumpIfTrue, int jumpIfFalse, int k) {
        program.putShort((short) code).put((byte) jumpIfTrue).put((byte) jumpIfFalse).putInt(k);
    }
}
