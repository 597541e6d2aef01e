package io.agentd.testkit.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
 * The restricted profile, an agent-wide option (agentd --profile, here from the kernel command line),
 * so a VM of its own. Needs the guest image and QEMU (skipped without the image, failed when it is
 * required: CI).
 */
@ExtendWith(GuestVmExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RestrictedProfileVmTest {
    @Guest(kernelArgs = "agentd.profile=restricted")
    static GuestVm vm;

    @Test
    void restrictedDropsCapSysAdmin() throws Exception {
        assertEquals("NoNewPrivs=1 sys_admin_eff=0 sys_admin_bnd=0", InGuest.sessionPrivileges(vm));
    }

    @Test
    void aRootSessionCannotMount() throws Exception {
        assertEquals("denied\n", InGuest.sh(vm, InGuest.MOUNT_TMPFS));
    }

    @Test
    void norRemountTheAgentsFilesReadWrite() throws Exception {
        assertEquals("denied\n", InGuest.sh(vm, InGuest.REMOUNT_AGENT_FILES));
    }

    /** The kernel's tunables and the cgroup files are read-only in a confined root session's mount namespace. */
    @Test
    void norWriteTheKernelsTunables() throws Exception {
        assertEquals("denied\n", InGuest.sh(vm, InGuest.WRITE_KERNEL_TUNABLES));
    }

    @Test
    void norWriteTheAgentsFiles() throws Exception {
        assertEquals("done\n", InGuest.sh(vm, InGuest.WRITE_AGENT_FILES));
    }

    @Test
    void aRequestMayAskForStrict() throws Exception {
        assertEquals(InGuest.NO_CAPS, InGuest.allCaps(vm, ExecRequest.of("cat", "/proc/self/status").withProfile("strict")));
    }

    @Test
    void aRequestMayNotAskForDefault() throws Exception {
        assertEquals(126, new Agentctl(vm).run("exec", "--profile", "default", "--", "true").exit());
    }

    @Test
    @Order(Integer.MAX_VALUE)
    void shutdownPowersOffAndQemuExits0() throws Exception {
        Shutdown.powersOffAndQemuExits0(vm);
    }
}
