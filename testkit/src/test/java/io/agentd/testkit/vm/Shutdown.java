package io.agentd.testkit.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.client.AgentClient;
import io.agentd.testkit.GuestVm;
import java.nio.file.Files;
import java.time.Duration;
import java.util.OptionalInt;

/** The last check of each VM class: agentctl shutdown powers the guest off, QEMU exits 0, the relay ends with it. */
final class Shutdown {
    /** init's line once the agent exited for a core.shutdown; a panic ends QEMU with 0 too (-no-reboot). */
    static final String POWER_OFF_LINE = "init: agentd exited 0 (shutdown requested): powering off";

    private Shutdown() {
    }

    static void powersOffAndQemuExits0(GuestVm vm) throws Exception {
        // A fresh client of the relay: the kit's own may have been closed by an agent restart before.
        AgentClient watcher = vm.connect();
        Agentctl.Result r = new Agentctl(vm).run("shutdown");
        assertEquals(0, r.exit(), r.toString());
        assertEquals(OptionalInt.of(0), vm.awaitExit(Duration.ofSeconds(60)), "QEMU's exit status after agentctl shutdown");
        // The relay ends with QEMU: it closes the kit's connection and removes its socket.
        assertTrue(watcher.awaitClosed(Duration.ofSeconds(10)), "the relay still serves a client 10 s after QEMU exited");
        watcher.close();
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (Files.exists(vm.agentSocket()) && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertFalse(Files.exists(vm.agentSocket()), "the relay's socket is still there 10 s after QEMU exited");
        assertTrue(vm.console().contains(POWER_OFF_LINE), "no power-off line from init:\n" + vm.console().tail(20));
    }
}
