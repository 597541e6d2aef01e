package io.agentd.testkit.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.client.fs.GuestFiles;
import io.agentd.testkit.Guest;
import io.agentd.testkit.GuestVm;
import io.agentd.testkit.GuestVmExtension;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Memory that no process holds, in a 512 MiB guest, as a review reproduced it: six sessions of
 * {@code exec --profile strict -u guest --memory 100m -- sh -c 'dd if=/dev/zero of=FILE bs=1M'}
 * were each OOM-killed in their own cgroups, but their files stayed in the tmpfs, charged to the
 * sessions, and no OOM killer can free a file: on the fourth the kernel killed the agent (its
 * oom_score_adj -999 spares it only while another process is left to kill), and init's restarts
 * were killed in turn, or the kernel panicked. The sessions' cgroup (agentd/sessions, which holds
 * every session's and not the agent's) now has a memory.max below the guest's memory, so that
 * the sessions meet it first: an OOM among the sessions, never the machine's.
 *
 * <p>The files go to a tmpfs the test mounts itself without a size limit (size=0), so that the
 * check holds whatever sizes init gives /tmp and /dev/shm. Booted with
 * agentd.sessions-memory-max=none (the agent without the limit) or on the image before the change,
 * the fourth session's agentctl ends 125 ("the agent ... restarted"), the console has "Out of
 * memory: Killed process ... (java)" and "agentd exited with status 137". Needs the guest image and
 * QEMU (skipped without the image, failed when it is required: CI).
 */
@ExtendWith(GuestVmExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SessionsMemoryLimitVmTest {
    @Guest(memoryMib = 512)
    static GuestVm vm;

    /** Where the sessions write: a tmpfs of the test's, with no size limit of its own. */
    private static final String FILL = "/mnt/fill";

    private static Agentctl agentctl() {
        return new Agentctl(vm);
    }

    /**
     * The sessions run in agentd/sessions, whose memory.max the start line and the serving line name:
     * MemTotal less the root file system in memory and 128 MiB for the agent and the kernel (some 290
     * MiB here), below the guest's memory.
     */
    @Test
    @Order(1)
    void theSessionsCgroupHasAMemoryMaxTheServingLineNames() throws Exception {
        String tail = vm.console().tail(20);
        Pattern servingLine = Pattern.compile(".* Main: agentd .* serving .*, sessions' memory.max (\\d+) MiB");
        Matcher serving = vm.console().agentLines().stream().map(servingLine::matcher).filter(Matcher::matches)
                .findFirst().orElseThrow(() -> new AssertionError("no serving line with the sessions' memory.max: "
                        + tail));
        long mib = Long.parseLong(serving.group(1));
        assertEquals(mib << 20, Long.parseLong(InGuest.sh(vm, "cat /sys/fs/cgroup/agentd/sessions/memory.max").strip()));
        long memTotalMib = Long.parseLong(InGuest.sh(vm, "sed -n 's/^MemTotal: *\\([0-9]*\\) kB/\\1/p' /proc/meminfo")
                .strip()) >> 10;
        assertTrue(mib >= 200 && mib <= memTotalMib - 128, mib + " MiB of " + memTotalMib);
        assertTrue(vm.console().contains("CgroupRoot: session cgroups under /sys/fs/cgroup/agentd/sessions (controllers:"
                + " cpu memory pids; sessions' memory.max " + mib + " MiB: MemTotal "), vm.console().tail(20));
        assertEquals("0::/agentd/agent\n", InGuest.sh(vm, "cat /proc/$(pidof java)/cgroup"));
    }

    /**
     * The review's loop, then two sessions without a limit: each is OOM-killed (oom_killed=true), the
     * later ones at once, at the sessions' limit, where the files left fill it; the agent answers a
     * ping, is never OOM-killed nor restarted, and says once that the sessions' memory is full of
     * files. Its own file operations are no session's: they remove the files, after which a session
     * runs again, in the same agent.
     */
    @Test
    @Order(2)
    void tmpfsFilesSessionsLeaveFillTheSessionsNotTheGuest() throws Exception {
        String agentPid = InGuest.sh(vm, "pidof java").strip();
        InGuest.sh(vm, "mkdir -p " + FILL + " && mount -t tmpfs -o size=0,mode=1777 fill " + FILL);
        for (int i = 1; i <= 8; i++) {
            boolean limited = i <= 6;
            String dd = "dd if=/dev/zero of=" + FILL + "/f" + i + " bs=1M";
            Agentctl.Result r = limited
                    ? agentctl().run("exec", "--stats", "--profile", "strict", "-u", "guest", "--memory", "100m", "--",
                            "sh", "-c", dd)
                    : agentctl().run("exec", "--stats", "--profile", "strict", "-u", "guest", "--", "sh", "-c", dd);
            assertTrue(r.exit() == 137 && r.stderr().contains("oom_killed=true")
                    || r.exit() == 126 && r.stderr().contains("out_of_memory"),
                    "session " + i + (limited ? " (--memory 100m)" : " (no limit)") + ": " + r + "\n"
                            + vm.console().tail(20));
        }
        assertEquals(0, agentctl().run("ping", "--count", "1").exit(), "the agent answers");
        var console = vm.console();
        assertTrue(console.contains("Memory cgroup out of memory: Killed process"), vm.console().tail(40));
        assertFalse(console.contains("Out of memory: Killed process"), "the guest ran out: " + vm.console().tail(40));
        assertFalse(console.contains("agentd exited with status"), "init restarted the agent: " + vm.console().tail(40));
        assertTrue(console.contains("WARN  SessionCgroups: the sessions' memory is full: a process of s-"),
                vm.console().tail(40));
        assertTrue(console.contains(" of it files in memory (memory.stat shmem: "), vm.console().tail(40));

        GuestFiles files = vm.client().files().withTimeout(Duration.ofSeconds(30));
        for (int i = 1; i <= 8; i++) {
            files.remove(FILL + "/f" + i);
        }
        Agentctl.Result ok = agentctl().run("exec", "--", "echo", "ok");
        assertEquals("ok\n", ok.stdout(), ok.toString());
        assertEquals(agentPid, InGuest.sh(vm, "pidof java").strip(), "the same agent");
        InGuest.sh(vm, "umount " + FILL);
    }

    @Test
    @Order(Integer.MAX_VALUE)
    void shutdownPowersOffAndQemuExits0() throws Exception {
        Shutdown.powersOffAndQemuExits0(vm);
    }
}
