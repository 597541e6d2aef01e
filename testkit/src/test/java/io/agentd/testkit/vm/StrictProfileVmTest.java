package io.agentd.testkit.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.ExecRequest;
import io.agentd.testkit.Guest;
import io.agentd.testkit.GuestVm;
import io.agentd.testkit.GuestVmExtension;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The strict profile (agent-wide, from the kernel command line): no capability in any set, and nothing
 * a root session can do to the agent; with agentd.vsock=none, so that the agent's vsock listener is
 * checked off here too, and a unix socket in the guest (agentd.listen), which refuses the strict sessions. Needs the guest image and QEMU (skipped without the image,
 * failed when it is required: CI).
 */
@ExtendWith(GuestVmExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class StrictProfileVmTest {
    @Guest(kernelArgs = {"agentd.profile=strict", "agentd.vsock=none", "agentd.listen=unix:/run/agentd/agentd.sock"})
    static GuestVm vm;

    @Test
    void withVsockNoneNothingListensOnTheVsockPort() throws Exception {
        assertEquals("refused\n", InGuest.vsockListener(vm));
    }

    /** The image's own agentctl against the vsock port nobody serves: vsock_loopback resets, agentctl exits 125. */
    @Test
    void withVsockNoneTheGuestsAgentctlIsRefused() throws Exception {
        assertEquals("125 agentctl: nothing listens on vsock:1:1024: Connection reset by peer (errno 104)\n",
                InGuest.guestAgentctlEchoHi(vm, "--socket vsock:1:" + InGuest.VSOCK_PORT),
                "exit status, stderr's first line; stdout");
    }

    /**
     * A strict root session is uid 0, which the agent's unix socket in the guest (agentd.listen) serves; but it is more
     * confined than the agent (no_new_privs, no capability), so the socket refuses it: it may not have
     * the agent act with the rights it lacks. agentctl exits 125 and nothing runs.
     */
    @Test
    void theGuestsAgentctlInAStrictSessionIsRefusedOnTheUnixSocket() throws Exception {
        String out = InGuest.guestAgentctlEchoHi(vm, "");
        assertTrue(out.startsWith("125 agentctl: the agent at /run/agentd/agentd.sock closed the connection before it"
                + " said it was ready") && !out.contains("hi\n"), out);
    }

    @Test
    void allFiveCapabilitySetsAreEmpty() throws Exception {
        assertEquals(InGuest.NO_CAPS, InGuest.allCaps(vm, ExecRequest.of("cat", "/proc/self/status")));
    }

    @Test
    void aRootSessionCannotReadTheAgentsEnviron() throws Exception {
        assertEquals("denied\n", InGuest.sh(vm,
                "cat /proc/$(pidof java)/environ > /dev/null 2>&1 && echo read || echo denied"));
    }

    /** Reading /proc/PID/mem takes the same check as PTRACE_ATTACH. */
    @Test
    void norItsMemory() throws Exception {
        assertEquals("denied\n", InGuest.sh(vm,
                "dd if=/proc/$(pidof java)/mem bs=1 count=1 skip=4194304 > /dev/null 2>&1 && echo read || echo denied"));
    }

    /** The fd directory lists for uid 0; where its links lead takes the ptrace check. */
    @Test
    void norFollowItsFds() throws Exception {
        assertEquals("denied\n", InGuest.sh(vm,
                "readlink /proc/$(pidof java)/fd/1 > /dev/null 2>&1 && echo followed || echo denied"));
    }

    @Test
    void norWriteTheAgentsFiles() throws Exception {
        assertEquals("done\n", InGuest.sh(vm, InGuest.WRITE_AGENT_FILES));
    }

    /** The kernel's tunables and the cgroup files are read-only in a confined root session's mount namespace. */
    @Test
    void norWriteTheKernelsTunables() throws Exception {
        assertEquals("denied\n", InGuest.sh(vm, InGuest.WRITE_KERNEL_TUNABLES));
    }

    @Test
    void norRemountThemReadWrite() throws Exception {
        assertEquals("denied\n", InGuest.sh(vm, InGuest.REMOUNT_AGENT_FILES));
    }

    @Test
    void norMount() throws Exception {
        assertEquals("denied\n", InGuest.sh(vm, InGuest.MOUNT_TMPFS));
    }

    /** insmod of a module already loaded: EEXIST with CAP_SYS_MODULE, EPERM without. */
    @Test
    void norLoadAModule() throws Exception {
        assertEquals("denied\n", InGuest.sh(vm, "insmod /lib/modules/$(head -n1 /etc/guest-modules).ko 2>&1"
                + " | grep -q 'not permitted' && echo denied || echo allowed"));
    }

    /**
     * A strict root session may send PID 1 any signal (same uid, no capability needed), and the kernel
     * hands init those it has a handler for. Sent them all, init still supervises: the agent, then
     * killed, is started again and answers. Before, busybox sh's own SIGINT handler ended init at
     * the agent's next exit: kernel panic ("Attempted to kill init! exitcode=0x00008200"), QEMU gone.
     */
    @Test
    @Order(Integer.MAX_VALUE - 2)
    void signalsToInitFromAStrictSessionDoNotEndIt() throws Exception {
        Agentctl agentctl = new Agentctl(vm);
        String signals = "INT TERM HUP QUIT USR1 USR2 ALRM PIPE CHLD WINCH URG CONT TSTP TTIN TTOU STOP KILL";
        Agentctl.Result sent = agentctl.run("exec", "--", "sh", "-c",
                "for s in " + signals + "; do kill -$s 1 || echo \"$s refused\"; done; echo sent");
        assertEquals("sent\n", sent.stdout(), "every kill(1, SIG) returns 0 to uid 0: " + sent);
        agentctl.run("exec", "--", "sh", "-c", "(sleep 1; kill -KILL $(pidof java)) > /dev/null 2>&1 &");
        Thread.sleep(2000);
        assertEquals(0, agentctl.run("wait-ready", "--timeout", "40s").exit(), "init started a new agent:\n"
                + vm.console().tail(20));
        assertEquals("ok\n", agentctl.run("exec", "--", "echo", "ok").stdout());
        assertTrue(vm.exitStatus().isEmpty(), "QEMU runs on");
        assertTrue(vm.console().contains("init: SIGINT ignored"), vm.console().tail(20));
        assertFalse(vm.console().contains("Attempted to kill init"), vm.console().tail(20));
    }

    /**
     * A root session can still signal the agent (docs/SECURITY.md), but no longer power the VM off
     * through it (it lacks CAP_SYS_BOOT): SIGTERM stops the agent as a shutdown would, with status 143,
     * which init restarts; only a host's core.shutdown (status 0) powers off. Before, any SIGTERM ended
     * the VM.
     */
    @Test
    @Order(Integer.MAX_VALUE - 1)
    void norPowerOffTheVmBySignallingTheAgent() throws Exception {
        Agentctl agentctl = new Agentctl(vm);
        agentctl.run("exec", "--", "sh", "-c", "(sleep 1; kill -TERM $(pidof java)) > /dev/null 2>&1 &");
        Thread.sleep(2000);
        assertEquals(0, agentctl.run("wait-ready", "--timeout", "40s").exit(), "a new agent is ready");
        assertTrue(vm.exitStatus().isEmpty(), "QEMU runs on");
        assertEquals("still up\n", agentctl.run("exec", "--", "echo", "still up").stdout());
    }

    @Test
    @Order(Integer.MAX_VALUE)
    void shutdownPowersOffAndQemuExits0() throws Exception {
        Shutdown.powersOffAndQemuExits0(vm);
    }
}
