package io.agentd.testkit.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.testkit.Guest;
import io.agentd.testkit.GuestVm;
import io.agentd.testkit.GuestVmExtension;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The guest's RAM file systems have sizes (init: agentd.tmp-size, shm-size, run-size, root-size), in a
 * 512 MiB guest as a review found them: a guest user who filled /tmp and /dev/shm (each half the RAM
 * by tmpfs's default, the initramfs's root another half) took the memory the agent and the kernel
 * need with pages no process holds, so the OOM killer could not free them: the agent was killed,
 * then the kernel panicked ("System is deadlocked on memory"). Needs the guest image and QEMU
 * (skipped without the image, failed when it is required: CI).
 */
@ExtendWith(GuestVmExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RamFileSystemsVmTest {
    @Guest(memoryMib = 512, kernelArgs = "agentd.run-size=4m")
    static GuestVm vm;

    /**
     * Each mount a size and one inode per 4 KiB of it; agentd.run-size (init's option, not passed to
     * the agent, which would refuse it and power the VM off) sets /run's; the root's room beyond the image.
     */
    @Test
    @Order(1)
    void eachRamFileSystemHasASizeAndAnInodeLimit() throws Exception {
        String mounts = InGuest.sh(vm, "for m in /tmp /dev/shm /run /; do"
                + " o=$(awk -v m=$m '$2 == m { o = $4 } END { print o }' /proc/mounts);"
                + " case $o in *size=*nr_inodes=*) s=${o#*size=}; s=${s%%k,*}; i=${o#*nr_inodes=}; i=${i%%,*};"
                + " echo \"$m $s $i\";; *) echo \"$m unsized: $o\";; esac; done");
        String[] lines = mounts.split("\n");
        assertEquals(4, lines.length, mounts);
        for (String line : lines) {
            String[] f = line.split(" ");
            assertEquals(3, f.length, "no size= and nr_inodes= on " + line);
        }
        assertEquals("/run 4096 1024", lines[2], "agentd.run-size=4m: " + mounts);
        long tmp = Long.parseLong(lines[0].split(" ")[1]);
        long shm = Long.parseLong(lines[1].split(" ")[1]);
        // One inode per 4 KiB (the kernel shows the size rounded up to a page).
        assertEquals(tmp / 4.0, Long.parseLong(lines[0].split(" ")[2]), 1.0, mounts);
        // 25% and 10% of the memory the image's files leave: /tmp two and a half times /dev/shm.
        assertEquals(2.5, (double) tmp / shm, 0.01, mounts);
        long memTotal = Long.parseLong(InGuest.sh(vm, "awk '/^MemTotal:/ { print $2 }' /proc/meminfo").strip());
        assertTrue(tmp + shm < memTotal * 2 / 5, "/tmp and /dev/shm at most 35% of the RAM: " + mounts + memTotal);
    }

    /**
     * The review's fill, as a guest user, of /tmp, /dev/shm and the user's home (on the root), then
     * as many empty files as each takes: every write ends with ENOSPC, the agent is the one that
     * started (not OOM-killed and restarted) and answers, and the guest keeps memory to spare.
     */
    @Test
    @Order(2)
    void aGuestUserFillingThemGetsEnospcAndTheAgentLivesOn() throws Exception {
        String agentPid = InGuest.sh(vm, "pidof java");
        Agentctl agentctl = new Agentctl(vm);
        Agentctl.Result fill = agentctl.run(Duration.ofMinutes(4), "exec", "-u", "guest", "--", "sh", "-c",
                "for d in /tmp /dev/shm /home/guest; do dd if=/dev/zero of=$d/fill bs=1M 2>&1 | grep -o 'No space left on device';"
                        + " mkdir $d/files && cd $d/files && seq 1 200000 | xargs touch 2>&1 | grep -o -m 1 'No space left on device';"
                        + " done; grep MemAvailable /proc/meminfo");
        assertEquals("No space left on device\n".repeat(6), fill.stdout().replaceAll("MemAvailable:.*\n", ""),
                "each fill ends with ENOSPC: " + fill);
        long available = Long.parseLong(fill.stdout().replaceAll("(?s).*MemAvailable: *([0-9]+) kB.*", "$1"));
        long memTotal = Long.parseLong(InGuest.sh(vm, "awk '/^MemTotal:/ { print $2 }' /proc/meminfo").strip());
        assertTrue(available > memTotal / 8, "MemAvailable " + available + " kB of " + memTotal + " with all full");
        assertEquals(agentPid, InGuest.sh(vm, "pidof java"), "the same agent");
        assertEquals("ok\n", agentctl.run("exec", "--", "echo", "ok").stdout());
        assertFalse(vm.console().contains("Out of memory"), vm.console().tail(20));
        InGuest.sh(vm, Duration.ofMinutes(2), "rm -rf /tmp/fill /tmp/files /dev/shm/fill /dev/shm/files"
                + " /home/guest/fill /home/guest/files");
    }

    /**
     * SysV shared memory, the RAM file system that is no mount: a guest user's program makes two 64 MiB
     * segments, fills them, detaches and exits (a static C helper built here with gcc, which the
     * project's build needs for its native shim). init sets kernel.shm_rmid_forced, so the segments go
     * with their last process; before, they stayed, 128 MiB of the guest's memory no process held.
     */
    @Test
    @Order(3)
    void aGuestUsersSysVSharedMemoryGoesWithItsProcesses() throws Exception {
        Path src = vm.runDir().resolve("shm.c");
        Path helper = vm.runDir().resolve("shm");
        Files.writeString(src, """
                #include <stdio.h>
                #include <string.h>
                #include <sys/shm.h>
                int main(void) {
                    for (int i = 0; i < 2; i++) {
                        int id = shmget(IPC_PRIVATE, 64 << 20, IPC_CREAT | 0600);
                        char *p = id < 0 ? (char *) -1 : shmat(id, 0, 0);
                        if (p == (char *) -1) { perror("shm"); return 1; }
                        memset(p, 1, 64 << 20);
                        shmdt(p);
                    }
                    puts("made");
                    return 0;
                }
                """);
        Process gcc = new ProcessBuilder("gcc", "-static", "-O2", "-o", helper.toString(), src.toString())
                .redirectErrorStream(true).start();
        String gccSaid = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, gcc.waitFor(), "gcc -static: " + gccSaid);
        Agentctl agentctl = new Agentctl(vm);
        assertEquals(0, agentctl.run("cp", helper.toString(), ":/tmp/shm").exit());
        InGuest.sh(vm, "chmod 755 /tmp/shm");
        Agentctl.Result r = agentctl.run("exec", "-u", "guest", "--", "sh", "-c",
                "/tmp/shm && tail -n +2 /proc/sysvipc/shm | wc -l");
        InGuest.sh(vm, "rm /tmp/shm");
        assertEquals("made\n0\n", r.stdout(), "the segments left once the program exited: " + r);
    }

    @Test
    @Order(Integer.MAX_VALUE)
    void shutdownPowersOffAndQemuExits0() throws Exception {
        Shutdown.powersOffAndQemuExits0(vm);
    }
}
