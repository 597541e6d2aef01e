package io.agentd.agent.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Finding the virtio-serial port by name in a sysfs-shaped directory. */
class VirtioPortDiscoveryTest {
    private Path sys;

    /** Under target/: the tests run with java.io.tmpdir pointing nowhere usable (see the pom). */
    @BeforeEach
    void makeSysfs() throws IOException {
        sys = Files.createTempDirectory(Files.createDirectories(Path.of("target", "test-sysfs")), "virtio-ports");
    }

    private void port(String node, String name) throws IOException {
        Files.createDirectories(sys.resolve(node));
        Files.writeString(sys.resolve(node).resolve("name"), name);
    }

    @Test
    void findsThePortWhoseNameMatches() throws Exception {
        port("vport0p1", "org.qemu.guest_agent.0\n");
        port("vport0p2", "agent\n");
        Files.createDirectories(sys.resolve("vport0p3")); // a port without a name
        assertEquals(Path.of("/dev/vport0p2"), DevicePort.findVirtioPort(sys, Path.of("/dev"), "agent"));
        assertEquals(Path.of("/dev/vport0p1"),
                DevicePort.findVirtioPort(sys, Path.of("/dev"), "org.qemu.guest_agent.0"));
    }

    @Test
    void aMissingPortIsAClearError() throws Exception {
        port("vport0p1", "other\n");
        // Typed: Main says what serves on a host by the type, not the message.
        IOException e = assertThrows(NoVirtioPortException.class, () -> DevicePort.findVirtioPort(sys, Path.of("/dev"), "agent"));
        assertTrue(e.getMessage().contains("no virtio port named 'agent'"), e.getMessage());
        IOException none = assertThrows(NoVirtioPortException.class,
                () -> DevicePort.findVirtioPort(sys.resolve("absent"), Path.of("/dev"), "agent"));
        assertTrue(none.getMessage().contains("does not exist"), none.getMessage());
    }

    /** At the agent's start the port's driver may still be probing (the guest's init loads it meanwhile). */
    @Test
    void aPortThatAppearsWhileTheStartWaitsIsFound() throws Exception {
        Thread driver = new Thread(() -> {
            try {
                Thread.sleep(150);
                port("vport0p1", "agent\n");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        driver.start();
        Path found = DevicePort.findWaiting(() -> DevicePort.findVirtioPort(sys, Path.of("/dev"), "agent"), 5000, 10);
        driver.join();
        assertEquals(Path.of("/dev/vport0p1"), found);
    }

    @Test
    void aPortThatNeverAppearsFailsTheStartAfterTheWaitSayingHowLong() {
        long start = System.nanoTime();
        IOException e = assertThrows(NoVirtioPortException.class, () -> DevicePort.findWaiting(
                () -> DevicePort.findVirtioPort(sys, Path.of("/dev"), "agent"), 200, 10), "the wait keeps the failure's type");
        long tookMillis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(tookMillis >= 200, "gave up after " + tookMillis + " ms");
        assertTrue(e.getMessage().matches("no virtio port named 'agent' under .* \\(looked for \\d+ ms\\)"), e.getMessage());
    }

    /** Any other failure of the finder stays an IOException of its own: a bare start's hint is only for a missing port. */
    @Test
    void anotherFailureIsNotTakenForAMissingPort() {
        IOException e = assertThrows(IOException.class, () -> DevicePort.findWaiting(() -> {
            throw new IOException("/dev/vport0p1 does not exist");
        }, 50, 10));
        assertTrue(!(e instanceof NoVirtioPortException), e.toString());
    }
}
