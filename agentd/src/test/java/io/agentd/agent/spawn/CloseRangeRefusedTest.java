package io.agentd.agent.spawn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Spawns from a thread under a seccomp filter that answers close_range EPERM, as container profiles
 * older than the call do (the filter is the thread's own, and its children inherit it; the rest of
 * this JVM is untouched). Children still start and see only their own 0, 1 and 2 (ls adds 3): the
 * shim closes what /proc/self/fd lists instead (rule 6 of agentd-shim.c). Through the spawn slots
 * (rule 8), the refused unshare makes the spawner ask again without them, and never use them again.
 * Before, every spawn failed at close_range (only ENOSYS fell back), and the slots' retry took only
 * EINVAL and ENOSYS.
 */
@Timeout(120)
class CloseRangeRefusedTest {
    private static final long SYS_CLOSE_RANGE = 436; // the same number on x86-64 and aarch64
    private static final int PR_SET_NO_NEW_PRIVS = 38;
    private static final int PR_SET_SECCOMP = 22;
    private static final int SECCOMP_MODE_FILTER = 2;
    private static final List<String> LS_FDS = List.of("-1", "/proc/self/fd");

    @Test
    void childrenStartWithOnlyTheirOwnFdsWhenAFilterRefusesCloseRange() throws Exception {
        int inheritable = Os.libc().open(Os.cString("/dev/null"), LibC.O_RDWR, 0); // no O_CLOEXEC
        assertTrue(inheritable > 2, "an fd a child would inherit: " + inheritable);
        // No slots: the process's set stays in use whatever this JVM holds (a refused unshare
        // through them would turn them off for every later test in this fork).
        Spawner spawner = new Spawner(NativeShim.load(Path.of(System.getProperty(Spawner.SHIM_PROPERTY))),
                UserDb.system(), SpawnSlots.none());
        try {
            onFilteredThread(() -> {
                for (boolean tty : new boolean[] {false, true}) {
                    ChildIo.Run r = ChildIo.run(spawner, ChildIo.spec("ls", LS_FDS, tty));
                    assertEquals("0\n1\n2\n3\n", r.stdout().replace("\r\n", "\n"), tty ? "tty" : "pipes");
                }
            });
        } finally {
            Os.close(inheritable);
        }
    }

    @Test
    void aFilterRefusingTheUnshareTurnsTheSlotsOffAndTheSpawnStillStarts() throws Exception {
        SpawnSlots slots = SpawnSlots.reserve(); // a set of its own: the process's set stays in use
        assumeTrue(slots.keepBelow() > 0, "no spawn slots on this kernel (" + System.getProperty("os.version") + ")");
        Spawner spawner = new Spawner(NativeShim.load(Path.of(System.getProperty(Spawner.SHIM_PROPERTY))),
                UserDb.system(), slots);
        List<Integer> held = new ArrayList<>();
        try {
            while (held.isEmpty() || held.get(held.size() - 1) < SpawnSlots.WORTH_IT_FROM + 8) {
                held.add(Os.libc().open(Os.cString("/dev/null"), LibC.O_RDONLY | LibC.O_CLOEXEC, 0));
            }
            onFilteredThread(() -> {
                ChildIo.Run first = ChildIo.run(spawner, ChildIo.spec("ls", LS_FDS, false));
                assertEquals("0\n1\n2\n3\n", first.stdout());
                assertEquals(1, slots.placements(), "the first spawn tried the slots");
                assertEquals(0, slots.keepBelow(), "the refused unshare turned them off");
                ChildIo.Run second = ChildIo.run(spawner, ChildIo.spec("ls", LS_FDS, false));
                assertEquals("0\n1\n2\n3\n", second.stdout());
                assertEquals(1, slots.placements(), "no spawn uses them again");
            });
        } finally {
            held.forEach(Os::close);
        }
    }

    /**
     * Runs {@code body} on a new thread that first installs the filter; a failure there is rethrown.
     * Also checks the filter works: close_range(~0U, 0, 0) is EINVAL from the kernel, EPERM from it.
     */
    private static void onFilteredThread(FilteredThread.Step body) throws Exception {
        FilteredThread.run("close-range-refused", () -> installFilter(), body);
    }

    private static void installFilter() {
        LibC libc = Os.libc();
        assertEquals(0, libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs: " + Os.errnoName(Os.errno()));
        // seccomp_data.nr at offset 0; close_range -> SECCOMP_RET_ERRNO | EPERM, all else SECCOMP_RET_ALLOW
        ByteBuffer program = ByteBuffer.allocate(4 * 8).order(ByteOrder.nativeOrder());
        instruction(program, 0x20, 0, 0, 0);                      // BPF_LD | BPF_W | BPF_ABS: the number
        instruction(program, 0x15, 0, 1, (int) SYS_CLOSE_RANGE);  // BPF_JMP | BPF_JEQ | BPF_K
        instruction(program, 0x06, 0, 0, 0x00050000 | 1);         // BPF_RET: errno EPERM
        instruction(program, 0x06, 0, 0, 0x7fff0000);             // BPF_RET: allow
        ByteBuffer filter = Os.allocate(program.capacity());
        filter.put(0, program.array());
        ByteBuffer fprog = Os.allocate(16); // struct sock_fprog: len, then the pointer
        fprog.putShort(0, (short) 4);
        fprog.putLong(8, Os.address(filter));
        assertEquals(0, libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, Os.address(fprog), 0, 0),
                "seccomp filter: " + Os.errnoName(Os.errno()));
        java.lang.ref.Reference.reachabilityFence(filter); // the kernel read both through their addresses
        java.lang.ref.Reference.reachabilityFence(fprog);
        long probe = libc.syscall(SYS_CLOSE_RANGE, 0xFFFF_FFFFL, 0, 0, 0);
        assertEquals(-1, probe);
        assertEquals(LibC.EPERM, Os.errno(), "the filter answers close_range: " + Os.errnoName(Os.errno()));
    }

    private static void instruction(ByteBuffer program, int code, int jumpIfTrue, int jumpIfFalse, int k) {
        program.putShort((short) code).put((byte) jumpIfTrue).put((byte) jumpIfFalse).putInt(k);
    }
}
