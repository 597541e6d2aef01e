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
        IOException e = assertThrows(IOException.class, () -> DevicePort.findVirtioPort(sys, Path.of("/dev"), "agent"));
        assertTrue(e.getMessage().contains("no virtio port named 'agent'"), e.getMessage());
        IOException none = assertThrows(IOException.class,
                () -> DevicePort.findVirtioPort(sys.resolve("absent"), Path.of("/dev"), "agent"));
        assertTrue(none.getMessage().contains("does not exist"), none.getMessage());
    }
}
