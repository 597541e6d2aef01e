package io.agentd.agent.spawn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The spawn slots (rule 8 in agentd-shim.c) with real fds: what a slot holds before, during and
 * after a spawn, and real children started through them while this JVM holds hundreds of fds.
 */
@Timeout(120)
class SpawnSlotsTest {

    @Test
    void theKernelReleaseDecidesWhetherSlotsAreKept() {
        assertTrue(SpawnSlots.kernelAtLeast("6.1.0-18-amd64", 5, 9));
        assertTrue(SpawnSlots.kernelAtLeast("5.9.0", 5, 9));
        assertTrue(SpawnSlots.kernelAtLeast("6.18.44-fc-v1045", 5, 9));
        assertFalse(SpawnSlots.kernelAtLeast("5.8.18", 5, 9));
        assertFalse(SpawnSlots.kernelAtLeast("4.19.0-26-amd64", 5, 9));
        assertFalse(SpawnSlots.kernelAtLeast("", 5, 9));
        assertFalse(SpawnSlots.none().worthIt(300, 301), "no slots: never");
    }

    @Test
    void aSlotHoldsTheChildsFdOnlyFromPlaceToRelease() throws Exception {
        SpawnSlots slots = slotsOrSkip();
        int[] pipe = new int[2];
        assertEquals(0, Os.libc().pipe2(pipe, LibC.O_CLOEXEC));
        try {
            synchronized (slots) {
                int[] placed = slots.place(new int[] {pipe[0], pipe[1], pipe[1], -1});
                assertEquals(placed[1], placed[2], "one fd, one slot");
                assertEquals(-1, placed[3]);
                assertTrue(placed[0] < slots.keepBelow() && placed[1] < slots.keepBelow());
                assertEquals(target(pipe[0]), target(placed[0]));
                assertEquals(target(pipe[1]), target(placed[1]));
                slots.release();
                assertEquals("/dev/null", target(placed[0]));
                assertEquals("/dev/null", target(placed[1]));
            }
        } finally {
            Os.close(pipe[0]);
            Os.close(pipe[1]);
        }
        assertThrows(IllegalArgumentException.class, () -> {
            synchronized (slots) {
                try {
                    slots.place(new int[] {0, 1, 2, 3, 4});
                } finally {
                    slots.release();
                }
            }
        }, "five distinct fds do not fit four slots");
    }

    /**
     * With this JVM holding 300 more fds, a child's pipes are numbered past the slots' threshold, so
     * spawns go through the slots: the children still see only 0, 1 and 2 (ls adds 3), their output
     * ends when they exit (no slot kept a pipe end), and a missing program is the usual failure.
     */
    @Test
    void childrenStartedThroughTheSlotsSeeOnlyTheirOwnFdsAndEndAsUsual() throws Exception {
        SpawnSlots slots = slotsOrSkip();
        List<Integer> held = new ArrayList<>();
        try {
            while (held.isEmpty() || held.get(held.size() - 1) < SpawnSlots.WORTH_IT_FROM + 8) {
                held.add(Os.libc().open(Os.cString("/dev/null"), LibC.O_RDONLY | LibC.O_CLOEXEC, 0));
            }
            long before = slots.placements();
            for (boolean tty : new boolean[] {false, true}) {
                ChildIo.Run r = ChildIo.run(ChildIo.spec("ls", List.of("-1", "/proc/self/fd"), tty));
                assertEquals("0\n1\n2\n3\n", r.stdout().replace("\r\n", "\n"), tty ? "tty" : "pipes");
            }
            ChildIo.Run exit = ChildIo.run(ChildIo.sh("echo out; echo err >&2; exit 7"));
            assertEquals("out\n", exit.stdout());
            assertEquals("err\n", exit.stderr());
            assertEquals(7, exit.status().code());
            SpawnFailure missing = assertThrows(SpawnFailure.class,
                    () -> ChildIo.run(ChildIo.spec("/no/such/program", List.of(), false)));
            assertEquals("ENOENT", missing.failure().errnoName());
            assertTrue(slots.keepBelow() > 0, "the kernel took the unshare: the slots are still in use");
            assertEquals(before + 4, slots.placements(), "every spawn went through the slots");
        } finally {
            held.forEach(Os::close);
        }
    }

    private static SpawnSlots slotsOrSkip() {
        SpawnSlots slots = SpawnSlots.shared();
        assumeTrue(slots.keepBelow() > 0, "no spawn slots on this kernel (" + System.getProperty("os.version") + ")");
        return slots;
    }

    private static String target(int fd) throws Exception {
        return Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
    }
}
