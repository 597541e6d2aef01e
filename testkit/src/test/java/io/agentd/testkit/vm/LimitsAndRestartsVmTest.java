package io.agentd.testkit.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.testkit.Guest;
import io.agentd.testkit.GuestVm;
import io.agentd.testkit.GuestVmExtension;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A default-profile VM for the checks that strain or kill the agent (scripts/guest/vm-test's cgroup
 * and restart cases), booted with agentd.vsock-local=serve (the vsock port serves peers on the guest
 * itself, which the default refuses), in this order: per-session limits first, then the agent killed under a session
 * and restarted by init, then the shutdown. Through agentctl processes: the exit codes are the CLI's.
 * Needs the guest image and QEMU (skipped without the image, failed when it is required: CI).
 */
@ExtendWith(GuestVmExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LimitsAndRestartsVmTest {
    @Guest(kernelArgs = "agentd.vsock-local=serve")
    static GuestVm vm;

    private static Agentctl agentctl() {
        return new Agentctl(vm);
    }

    /**
     * With agentd.vsock-local=serve, connections through vsock_loopback (CID 1) are hosts: three at once,
     * each greeted with the agent's own core.ready (DefaultProfileVmTest sees them refused by default).
     */
    @Test
    @Order(1)
    void withVsockLocalServeThreeVsockHostsOnTheGuestAreEachGreeted() throws Exception {
        assertEquals("core.ready\n".repeat(3), InGuest.vsockGreetings(vm, 3));
    }

    /** In agentd/sessions, the cgroup that holds every session's and nothing else (the agent is in agentd/agent). */
    @Test
    @Order(1)
    void aSessionRunsInACgroupOfItsOwn() throws Exception {
        String cgroup = InGuest.sh(vm, "cat /proc/self/cgroup");
        assertEquals("0::/agentd/sessions/s-N\n", cgroup.replaceAll("-[0-9]+-[0-9]+-[0-9]+\n", "-N\n"));
    }

    @Test
    @Order(2)
    void aForkBombStopsAtPidsAndTheAgentStaysHealthy() throws Exception {
        Agentctl.Result bomb = agentctl().run("exec", "--pids", "32", "--", "sh", "-c",
                "n=0; while [ $n -lt 1000 ]; do sleep 30 & n=$((n+1)); done");
        assertNotEquals(0, bomb.exit(), "the shell forked 1000 children under --pids 32: " + bomb);
        assertEquals("healthy\n", agentctl().run("exec", "--", "echo", "healthy").stdout());
    }

    /**
     * A session its pids.max allows no task is refused before its command runs: clone3 into the
     * cgroup fails EAGAIN, and the spawn used to be made again the old way, whose move in through
     * cgroup.procs the kernel does not check against pids.max: the command ran ("hi").
     */
    @Test
    @Order(2)
    void aSessionAllowedNoTaskIsRefusedAndNeverRuns() throws Exception {
        Agentctl.Result r = agentctl().run("exec", "--pids", "0", "--", "echo", "hi");
        assertEquals(126, r.exit(), r.toString());
        assertEquals("", r.stdout(), r.toString());
        assertTrue(r.stderr().contains("resource_limit") && r.stderr().contains("cgroup"), r.stderr());
    }

    @Test
    @Order(3)
    void aMemoryHogIsOomKilledAtMemory() throws Exception {
        Agentctl.Result r = agentctl().run("exec", "--stats", "--memory", "33554432", "--",
                "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1");
        assertEquals(137, r.exit(), r.toString());
        assertTrue(r.stderr().contains("oom_killed=true"), r.stderr());
    }

    @Test
    @Order(4)
    void aPidsLimitTheKernelRefusesIsBadArgs() throws Exception {
        Agentctl.Result r = agentctl().run("exec", "--pids", "100000000", "--", "true");
        assertEquals(126, r.exit(), r.toString());
        assertTrue(r.stderr().contains("bad_args"), r.stderr());
    }

    @Test
    @Order(5)
    void agentKilledMidSessionAgentctlSaysSo() throws Exception {
        // agentctl ends (125) once init's new agent says ready, and says the agent restarted.
        Agentctl.Result r = agentctl().run("exec", "--", "sh", "-c", "kill -KILL $(pidof java); sleep 40");
        assertEquals(125, r.exit(), r.toString());
        assertEquals(1, r.stderr().lines().filter(l -> l.contains("restarted")).count(), r.stderr());
    }

    @Test
    @Order(6)
    void aKilledAgentsSessionsDieWithIt() throws Exception {
        // A session and a setsid'd child print their pids; then the agent is killed under them.
        Agentctl.Result r = agentctl().run("exec", "--", "sh", "-c",
                "setsid sh -c \"echo \\$\\$; exec sleep 300\" & echo $$; sleep 1; kill -KILL $(pidof java); sleep 300");
        assertEquals(2, r.stdout().lines().count(), r.toString());
        assertEquals(0, agentctl().run("wait-ready", "--timeout", "40s").exit());
        // A zombie runs nothing: only a process in another state is alive.
        String alive = InGuest.sh(vm, "for p in " + String.join(" ", r.stdout().strip().split("\n")) + "; do"
                + " s=$(cut -d' ' -f3 /proc/$p/stat 2> /dev/null); [ -n \"$s\" ] && [ \"$s\" != Z ] && echo -n \"$p alive \";"
                + " done; echo checked");
        assertEquals("checked\n", alive);
    }

    @Test
    @Order(7)
    void initRestartsAKilledAgent() throws Exception {
        agentctl().run("exec", "--", "sh", "-c", "(sleep 1; kill -KILL $(pidof java)) > /dev/null 2>&1 &");
        Thread.sleep(2000);
        assertEquals(0, agentctl().run("wait-ready", "--timeout", "40s").exit());
        assertEquals(vm.image().kernelVersion() + "\n", agentctl().run("exec", "--", "uname", "-r").stdout());
        // init logs the status itself ("init: agentd exited with status 137 ..."); busybox sh used to
        // print its own bare "Killed" line to the console beside it.
        assertTrue(vm.console().contains("init: agentd exited with status 137"), vm.console().tail(20));
        assertFalse(Files.readAllLines(vm.console().file(), StandardCharsets.ISO_8859_1).contains("Killed"),
                vm.console().tail(20));
    }

    /**
     * The agent killed while it floods a reader that has stopped (SIGSTOP): the relay, QEMU's socket
     * and the port full, the agent's output held. The relay hears QEMU report the port closed (QMP),
     * the reader is told its agent is gone, and the new agent is heard. This was meant to cut a
     * frame on the port; in the runs seen the agent died between frames (its port writes were
     * whole), so the cut frame itself is shown by RelayAgentDiesMidFrameTest against a scripted port
     * and QMP, and this checks the whole path with a real QEMU and agent.
     */
    @Test
    @Order(8)
    void anAgentKilledUnderAFloodToAStoppedReaderIsHeardAgainThroughTheRelay() throws Exception {
        Process flood = new ProcessBuilder(agentctl().argv("exec", "--", "sh", "-c",
                "(sleep 6; kill -KILL $(pidof java)) > /dev/null 2>&1 & exec cat /dev/zero"))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            Thread.sleep(2000); // flooding
            signal("STOP", flood.pid());
            Thread.sleep(8000); // the port fills behind the stopped reader; the agent is killed at 6 s
            signal("CONT", flood.pid());
            assertTrue(flood.waitFor(60, TimeUnit.SECONDS), "agentctl ends once its agent is gone");
            assertEquals(125, flood.exitValue(), "agentctl says it lost its agent");
            assertEquals(0, agentctl().run("wait-ready", "--timeout", "40s").exit(), "a new agent is ready");
            assertEquals("after\n", agentctl().run("exec", "--", "echo", "after").stdout(),
                    "the relay reads the new agent's frames");
        } finally {
            flood.destroyForcibly();
        }
    }

    /**
     * The agent's virtio port removed under it and plugged back in: a detached session unbinds
     * virtio_console from the port's virtio device and binds it again, as a VMM's device_del and
     * device_add would take the port away and bring a new one. The same agent (no restart) finds the
     * port again and serves it; before, its fd reported a hang-up for ever and it never looked again.
     */
    @Test
    @Order(9)
    void aPortRemovedAndPluggedBackIsServedAgainByTheSameAgent() throws Exception {
        String agentPid = InGuest.sh(vm, "pidof java");
        Agentctl.Result started = agentctl().run("exec", "--detach", "--", "sh", "-c",
                "port=$(ls /sys/class/virtio-ports | head -n 1);"
                        + " dev=$(basename $(readlink -f /sys/class/virtio-ports/$port/../..)); sleep 1;"
                        + " echo $dev > /sys/bus/virtio/drivers/virtio_console/unbind; sleep 3;"
                        + " echo $dev > /sys/bus/virtio/drivers/virtio_console/bind");
        assertEquals(0, started.exit(), started.toString());
        Thread.sleep(5000); // removed at 1 s, back at 4 s
        assertEquals(0, agentctl().run("wait-ready", "--timeout", "30s").exit(), "the port is served again");
        assertEquals("back\n", agentctl().run("exec", "--", "echo", "back").stdout());
        assertEquals(agentPid, InGuest.sh(vm, "pidof java"), "by the same agent");
        assertTrue(vm.console().contains("removed (hot-unplugged"), vm.console().tail(30));
    }

    private static void signal(String name, long pid) throws Exception {
        assertEquals(0, new ProcessBuilder("kill", "-" + name, Long.toString(pid)).start().waitFor());
    }

    @Test
    @Order(Integer.MAX_VALUE)
    void shutdownPowersOffAndQemuExits0() throws Exception {
        Shutdown.powersOffAndQemuExits0(vm);
    }
}
