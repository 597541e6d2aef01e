package io.agentd.testkit.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.testkit.GuestImage;
import io.agentd.testkit.GuestVm;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.OptionalInt;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.TestAbortedException;

/**
 * A VMM's graceful shutdown: QMP {@code system_powerdown}, the ACPI power button. init watches the
 * button (modules button and evdev), has the agent sent SIGTERM and powers off once it exited. Before,
 * nothing in the guest heard the button: QEMU ran on. QEMU's own QMP socket has one client, the kit's
 * relay, so this VM's QEMU is started through a script that adds a second one for the test. Needs the
 * guest image and QEMU (skipped without the image, failed when it is required: CI).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PowerButtonVmTest {
    /** How long the power-down may take, button to QEMU's exit (about 1 s here under TCG). */
    static final Duration POWER_DOWN_WITHIN = Duration.ofSeconds(30);

    @TempDir
    static Path dir;
    static Path control;
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
        control = dir.resolve("control.sock");
        Path qemu = dir.resolve("qemu-with-control-qmp");
        Files.writeString(qemu, "#!/bin/sh\nexec qemu-system-x86_64 \"$@\" -qmp 'unix:" + control + ",server=on,wait=off'\n");
        Files.setPosixFilePermissions(qemu, PosixFilePermissions.fromString("rwx------"));
        vm = GuestVm.builder().image(image).memoryMib(512).qemuBinary(qemu.toString()).boot();
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
        assertEquals("{\"return\": {}}", qmp("system_powerdown"));
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

    /** Runs one QMP command on the test's own QMP socket; returns the answer's line (events skipped). */
    private static String qmp(String command) throws IOException {
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.connect(UnixDomainSocketAddress.of(control));
            BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel), StandardCharsets.UTF_8));
            OutputStream out = Channels.newOutputStream(channel);
            assertTrue(in.readLine().startsWith("{\"QMP\""), "QMP's greeting");
            out.write("{\"execute\": \"qmp_capabilities\"}\n".getBytes(StandardCharsets.UTF_8));
            assertEquals("{\"return\": {}}", answer(in));
            out.write(("{\"execute\": \"" + command + "\"}\n").getBytes(StandardCharsets.UTF_8));
            return answer(in);
        }
    }

    private static String answer(BufferedReader in) throws IOException {
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            if (!line.startsWith("{\"event\"") && !line.startsWith("{\"timestamp\"")) {
                return line.strip();
            }
        }
        throw new IOException("QMP closed without an answer");
    }
}
