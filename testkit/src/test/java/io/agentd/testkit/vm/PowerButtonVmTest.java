package io.agentd.testkit.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.testkit.GuestImage;
import io.agentd.testkit.GuestVm;
import java.nio.file.Path;
import java.time.Duration;
import java.util.OptionalInt;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.opentest4j.TestAbortedException;

/**
 * A VMM's graceful shutdown: QMP {@code system_powerdown}, the ACPI power button. init watches the
 * button (modules button and evdev), has the agent sent SIGTERM and powers off once it exited. Before,
 * nothing in the guest heard the button: QEMU ran on. The kit presses it ({@link GuestVm#powerDown})
 * through its own monitor, beside the one the relay holds. Needs the guest image and QEMU (skipped
 * without the image, failed when it is required: CI).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PowerButtonVmTest {
    /** How long the power-down may take, button to QEMU's exit (about 1 s here under TCG). */
    static final Duration POWER_DOWN_WITHIN = Duration.ofSeconds(30);

    static GuestVm vm;

    @BeforeAll
    static void boot() throws Exception {
        Path image = GuestImage.defaultDir();
        if (!GuestImage.exists(image)) {
            String why = "no guest image at " + image + ": build one with scripts/guest/build-image";
            if (GuestImage.required()) {
                throw new IllegalStateException(why + " (required)");
            }
            throw new TestAbortedException(why);
        }
        vm = GuestVm.builder().image(image).memoryMib(512).boot();
    }

    @AfterAll
    static void close() throws Exception {
        if (vm != null) {
            vm.close();
        }
    }

    /**
     * The button's device is in /dev/input, which init makes unreachable without capabilities: a
     * strict root session can neither list it nor open the node to write a press into it (evdev hands
     * written events to every reader, init's watcher too).
     */
    @Test
    @Order(1)
    void aStrictSessionCannotPressTheButton() throws Exception {
        Agentctl.Result r = new Agentctl(vm).run("exec", "--profile", "strict", "--", "sh", "-c",
                "ls /dev/input 2>&1; for e in /dev/input/event0 /dev/input/event1; do"
                        + " { printf '%024d' 0 > $e; } 2>&1 | grep -o 'Permission denied'; done");
        assertEquals("ls: can't open '/dev/input': Permission denied\nPermission denied\nPermission denied\n",
                r.stdout(), r.toString());
        assertTrue(vm.exitStatus().isEmpty(), "QEMU runs on");
        assertFalse(vm.console().contains("power button pressed"), vm.console().tail(20));
        assertFalse(vm.console().contains("no ACPI power button"), vm.console().tail(20));
    }

    @Test
    @Order(2)
    void systemPowerdownStopsTheAgentAndPowersTheGuestOff() throws Exception {
        long start = System.nanoTime();
        vm.powerDown();
        assertEquals(OptionalInt.of(0), vm.awaitExit(POWER_DOWN_WITHIN),
                "QEMU's exit within " + POWER_DOWN_WITHIN + " of system_powerdown:\n" + vm.console().tail(20));
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        System.out.println("PowerButtonVmTest: system_powerdown to QEMU's exit " + took.toMillis() + " ms");
        assertTrue(vm.console().contains("init: power button pressed: stopping agentd (SIGTERM), then powering off"),
                vm.console().tail(20));
        assertTrue(vm.console().contains("Agent: shutting down (SIGTERM)"), vm.console().tail(20));
        assertTrue(vm.console().contains("init: agentd exited with status 143 after the power button: powering off"),
                vm.console().tail(20));
        assertTrue(vm.console().contains("reboot: Power down"), vm.console().tail(20));
    }
}
