package io.agentd.agent.session.cgroup;

import static io.agentd.agent.session.cgroup.FakeCgroup2.cgroup;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.session.cgroup.FakeCgroup2.Opened;
import io.agentd.protocol.payload.ExecFailed;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * A subtree without the controllers the agent wants says why, at start and in the refusal of a limit
 * that needs one: "controllers: none" and "not available in DIR" said nothing of the parent that holds
 * the agent (a systemd service with Delegate=yes, a container's own cgroup), where cgroup v2 gives the
 * children no controllers, nor of a hybrid host whose memory and pids are cgroup v1's. Temporary
 * directories stand in for cgroup2 (each with the interface files the kernel would show; the
 * hierarchy's root is the one without cgroup.type), and a text for /proc/cgroups.
 */
class CgroupRootControllersTest {
    /** A cgroup2-only kernel's /proc/cgroups: every controller in hierarchy 0, enabled. */
    private static final String UNIFIED_KERNEL = """
            #subsys_name\thierarchy\tnum_cgroups\tenabled
            cpu\t0\t120\t1
            memory\t0\t120\t1
            pids\t0\t120\t1
            hugetlb\t0\t120\t1
            """;
    /** This machine's kind of hybrid layout: cpu, memory and pids mounted as cgroup v1, hugetlb in cgroup2. */
    private static final String HYBRID_KERNEL = """
            #subsys_name\thierarchy\tnum_cgroups\tenabled
            cpuset\t3\t1\t1
            cpu\t1\t1\t1
            memory\t4\t88\t1
            pids\t8\t1\t1
            hugetlb\t0\t2\t1
            """;
    private static final long AGENT = ProcessHandle.current().pid();

    /**
     * The agent in a delegated service's cgroup (or a container's): the subtree agentd below it gets
     * nothing, for the agent's own cgroup holds the agent. The cause and the fix are named.
     */
    @Test
    void aParentHoldingTheAgentIsNamedWithTheLeafToMoveItTo() throws Exception {
        Path top = scratch();
        Path svc = cgroup(top.resolve("r-svc"), "cpu io memory pids", AGENT + "\n", false);
        Path subtree = cgroup(svc.resolve("agentd"), "", "", false);

        Opened o = open(subtree, UNIFIED_KERNEL);
        String line = o.startLine();
        assertTrue(line.startsWith("session cgroups under " + subtree + " (controllers: none; cpu memory pids not"
                + " available: its parent " + svc + " holds processes (the agent's own), and cgroup v2 gives no"
                + " controllers to the children of a cgroup that holds processes"), line);
        assertTrue(line.contains("run the agent in a leaf cgroup named agent, e.g. " + svc.resolve("agent")
                + " (systemd: DelegateSubgroup=agent): the agent then makes the sessions' cgroups in " + svc
                + " and enables the controllers there itself"), line);

        SessionCgroups cgroups = new SessionCgroups(o.root());
        for (Long[] limits : new Long[][] {{64L << 20, null}, {null, 32L}}) {
            ExecFailed f = assertThrows(CgroupRefusal.class, () -> cgroups.create(limits[0], limits[1])).failure();
            assertEquals("resource_limit", f.kind());
            assertEquals("cgroup", f.stage());
            String controller = limits[0] != null ? "memory" : "pids";
            assertTrue(f.message().startsWith(controller + "_max needs the " + controller + " controller, which is not"
                    + " available in " + subtree + ": its parent " + svc + " holds processes (the agent's own)"),
                    f.message());
            assertTrue(f.message().contains("DelegateSubgroup=agent"), f.message());
        }
        try (var made = Files.list(subtree)) {
            assertEquals(5, made.count(), "nothing made for a refused limit");
        }
    }

    /** Other processes beside the agent (a container's init, a launcher): they are counted, and must move too. */
    @Test
    void otherProcessesInTheParentAreCountedAndMustMoveToo() throws Exception {
        Path top = scratch();
        Path box = cgroup(top.resolve("box"), "cpu memory pids", "1\n" + AGENT + "\n4242\n", false);
        Path subtree = cgroup(box.resolve("agentd"), "", "", false);
        String line = open(subtree, UNIFIED_KERNEL).startLine();
        assertTrue(line.contains("its parent " + box + " holds processes (3 processes, the agent's among them)"), line);
        assertTrue(line.contains("e.g. " + box.resolve("agent") + ", and the other processes in leaves of their own"),
                line);

        // A --cgroup-root below someone else's cgroup: not the agent to move.
        Path other = cgroup(top.resolve("other"), "cpu memory pids", "4242\n", false);
        Path given = cgroup(other.resolve("sessions"), "", "", false);
        String otherLine = open(given, UNIFIED_KERNEL).startLine();
        assertTrue(otherLine.contains("its parent " + other + " holds processes (1 process)"), otherLine);
        assertTrue(otherLine.contains("move them to a leaf cgroup of their own, or give --cgroup-root"), otherLine);
        assertFalse(otherLine.contains("DelegateSubgroup"), otherLine);
    }

    /**
     * A hybrid host: cgroup2 at /sys/fs/cgroup/unified with hugetlb alone, memory and pids bound to
     * cgroup v1. The root offers none of them: that is said, rather than a parent to fix.
     */
    @Test
    void controllersBoundToCgroupV1AreSaidToBe() throws Exception {
        Path top = scratch();
        Path unified = cgroup(top.resolve("unified"), "hugetlb", "1\n2\n" + AGENT + "\n", true);
        Path subtree = cgroup(unified.resolve("agentd"), "", "", false);
        Opened o = open(subtree, HYBRID_KERNEL);
        assertTrue(o.startLine().contains("(controllers: none; cpu memory pids not available: bound to cgroup v1"
                + " (/proc/cgroups: a hybrid or v1 layout), and cgroup2 has no controller that cgroup v1 has"),
                o.startLine());
        ExecFailed f = assertThrows(CgroupRefusal.class, () -> new SessionCgroups(o.root()).create(64L << 20, null))
                .failure();
        assertEquals("resource_limit", f.kind());
        assertEquals("memory_max needs the memory controller, which is not available in " + subtree + ": bound to"
                + " cgroup v1 (/proc/cgroups: a hybrid or v1 layout), and cgroup2 has no controller that cgroup v1 has",
                f.message());

        // One disabled at boot, one the kernel does not list at all.
        String kernel = HYBRID_KERNEL.replace("memory\t4\t88\t1", "memory\t0\t1\t0").replace("pids\t8\t1\t1\n", "");
        String line = open(subtree, kernel).startLine();
        assertTrue(line.contains("; memory not available: disabled on the kernel's command line (cgroup_disable=;"
                + " /proc/cgroups)"), line);
        assertTrue(line.contains("; pids not available: in no cgroup.controllers up to the hierarchy's root "
                + unified + ": not in this kernel's cgroup2"), line);
    }

    /**
     * Offered above but not enabled for the subtree, by a parent that could (no processes, or the
     * hierarchy's root, which the rule exempts): the file to add it to is named. The agent does not
     * write there, above its subtree. What the subtree has is enabled and listed as before.
     */
    @Test
    void aParentThatCouldEnableItIsNamedWithItsFile() throws Exception {
        Path top = scratch();
        Path root = cgroup(top.resolve("root"), "cpu memory pids", "1\n" + AGENT + "\n", true);
        Path subtree = cgroup(root.resolve("agentd"), "pids", "", false);
        Opened o = open(subtree, UNIFIED_KERNEL);
        assertTrue(o.startLine().startsWith("session cgroups under " + subtree + " (controllers: pids; cpu memory not"
                + " available: not enabled in its parent's " + root.resolve("cgroup.subtree_control") + ", which may"
                + " enable it (the agent changes nothing above its subtree)"), o.startLine());
        assertEquals("", Files.readString(root.resolve("cgroup.subtree_control")), "nothing written above the subtree");
        assertEquals("+pids", Files.readString(subtree.resolve("cgroup.subtree_control")));
        assertTrue(o.root().hasController("pids"));

        Path empty = cgroup(top.resolve("root/empty"), "memory", "", false);
        Path below = cgroup(empty.resolve("agentd"), "", "", false);
        String line = open(below, UNIFIED_KERNEL).startLine();
        assertTrue(line.contains("; memory not available: not enabled in its parent's "
                + empty.resolve("cgroup.subtree_control") + ", which may"), line);
        assertTrue(line.contains("; cpu pids not available: not enabled in the " + root.resolve("cgroup.subtree_control")
                + " (a cgroup above its parent), which may"), line);
    }

    private static Opened open(Path subtree, String procCgroups) throws IOException {
        Path table = Files.createTempFile(subtree.getParent(), "proc-cgroups", "");
        Files.writeString(table, procCgroups);
        try {
            return FakeCgroup2.open(() -> CgroupRoot.open(subtree.toString(), table));
        } finally {
            Files.delete(table);
        }
    }

    private static Path scratch() throws IOException {
        return FakeCgroup2.scratch("cgroup-controllers-");
    }
}
