package io.agentd.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The kit's link to a VM's agent, without a VM: its socket paths and its wait for the port. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AgentLinkTest {
    @TempDir
    Path tmp;

    /** A run directory whose name makes {@code agent.sock}'s path exactly {@code bytes} long. */
    private Path runDirFor(int bytes) {
        String base = tmp.toString() + "/";
        int name = bytes - base.length() - "/agent.sock".length();
        return Path.of(base + "r".repeat(name));
    }

    /** The JDK connects a unix socket path of up to 106 bytes: 107 passed the kit and failed at connect. */
    @Test
    void aSocketPathTheJdkCannotConnectIsRefusedBeforeQemuStarts() throws Exception {
        Path fits = runDirFor(106);
        assertEquals(106, fits.resolve("agent.sock").toString().getBytes(StandardCharsets.UTF_8).length);
        AgentLink.in(fits); // port.sock and mon.sock are shorter, qmp.sock as long as agent.sock
        Path tooLong = runDirFor(107);
        GuestVmException e = assertThrows(GuestVmException.class, () -> AgentLink.in(tooLong));
        assertTrue(e.getMessage().contains("is too deep"), e.getMessage());
    }

    /**
     * An interrupt while the relay's port connection is being tried ends the wait with an
     * InterruptedException at once: the connect's ClosedByInterruptException used to be retried,
     * in a loop without a wait, until the boot's deadline.
     */
    @Test
    void anInterruptWhileThePortRefusesEndsTheWaitAtOnce() throws Exception {
        Path run = Files.createDirectories(tmp.resolve("run"));
        AgentLink link = AgentLink.in(run);
        Files.writeString(link.chardevSocket(), "not a socket: every connect is refused");
        Process qemu = new ProcessBuilder("sleep", "60").start(); // a QEMU that stays up
        try {
            Thread.currentThread().interrupt();
            long start = System.nanoTime();
            assertThrows(InterruptedException.class,
                    () -> link.connect(qemu, System.nanoTime() + Duration.ofSeconds(30).toNanos()));
            assertTrue(System.nanoTime() - start < Duration.ofSeconds(10).toNanos(), "waited for the deadline");
        } finally {
            Thread.interrupted();
            qemu.destroyForcibly();
            link.close();
        }
    }

}
