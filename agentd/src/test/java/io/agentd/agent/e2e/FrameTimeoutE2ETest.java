package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ErrorPayload;
import io.agentd.protocol.payload.ExecRequest;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * --frame-timeout on a real agent's unix socket: a host that begins a frame and goes silent is told
 * so on id 0 and closed, which frees its connection place and its large-frame room; a host idle
 * between frames is kept. The timeout is made small through the option; the tests wait for what the
 * agent does, never for a fixed time.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class FrameTimeoutE2ETest {
    /** A frame's first bytes: the length prefix of the largest frame, then its id and flags. */
    private static byte[] largeFrameBegun(long id) {
        return ByteBuffer.allocate(9).putInt(4 << 20).putInt((int) id).put((byte) 0).array();
    }

    private static void assertToldAndClosed(HostConnection host) throws InterruptedException {
        ErrorPayload e = host.expectError(0, "malformed_message");
        assertTrue(e.message().contains("--frame-timeout"), e.message());
        assertNull(e.offendingType());
        long deadline = System.nanoTime() + HostConnection.TIMEOUT.toNanos();
        while (!host.disconnected() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(host.disconnected(), "the agent closed the connection");
    }

    @Test
    void aHostSilentMidFrameIsClosedAndItsPlaceFreedWhileAnIdleHostStays() throws Exception {
        try (AgentProcess agent = AgentProcess.start("frame-timeout", "--frame-timeout", "1",
                "--max-connections", "2");
                HostConnection idle = agent.connectReady()) {
            try (HostConnection stalled = agent.connectReady()) {
                byte[] ping = new FrameEncoder().encode(new Frame(7, MessageType.CORE_PING, Empty.INSTANCE));
                stalled.sendRaw(Arrays.copyOf(ping, ping.length / 2)); // half a frame, then nothing
                assertToldAndClosed(stalled);
            }
            String log = agent.awaitLog("(--frame-timeout); closing it");
            assertTrue(log.matches("(?s).*connection \\d+: host link on fd \\d+: .*\\(--frame-timeout\\); closing it.*"),
                    "the line names the connection: " + log);
            // The place came free: a new host is served (with the idle one, the limit of 2).
            try (HostConnection next = agent.connectReady()) {
                next.send(new Frame(1, MessageType.CORE_PING, Empty.INSTANCE));
                next.expect(1, MessageType.CORE_PONG);
            }
            // The idle host sat through the whole timeout with no frame begun: still served.
            idle.send(new Frame(2, MessageType.CORE_PING, Empty.INSTANCE));
            idle.expect(2, MessageType.CORE_PONG);
        }
    }

    /**
     * The reviewer's slow loris: eight hosts each begin a 4 MiB frame, which reserves the whole
     * 32 MiB large-frame budget, and go silent. A ninth host's 200 KB exec.request waits for room
     * (and the wait is logged at info), and is served once the eight are dropped.
     */
    @Test
    void hostsHoldingTheLargeFrameBudgetWithUnfinishedFramesAreDroppedAndTheWaiterServed() throws Exception {
        try (AgentProcess agent = AgentProcess.start("large-loris", "--frame-timeout", "3")) {
            List<HostConnection> loris = new ArrayList<>();
            try {
                for (int i = 0; i < 8; i++) {
                    HostConnection h = agent.connectReady();
                    loris.add(h);
                    h.sendRaw(largeFrameBegun(1));
                }
                try (HostConnection victim = agent.connectReady()) {
                    String half = "x".repeat(100_000); // two args: one string may not exceed 128 KiB at execve
                    victim.exec(5, ExecRequest.of("true", half, half));
                    victim.send(new Frame(6, MessageType.CORE_PING, Empty.INSTANCE));
                    assertEquals(0, victim.collect(5, HostConnection.TIMEOUT).code());
                    victim.expect(6, MessageType.CORE_PONG);
                }
                for (HostConnection h : loris) {
                    assertToldAndClosed(h);
                }
                agent.awaitLog("for room in the large-frame budget");
            } finally {
                for (HostConnection h : loris) {
                    h.close();
                }
            }
        }
    }
    /**
     * The slow loris that keeps sending: eight hosts each begin a 4 MiB frame, which reserves the
     * whole budget, and then send one byte of it every 200 ms. A large frame's time starts over only
     * with 64 KiB more of it, so they are dropped after the timeout and a ninth host's 200 KB
     * request is served. Before, each byte started the timeout over and they held the budget for ever.
     */
    @Test
    void hostsTricklingLargeFramesAreDroppedAndTheWaiterServed() throws Exception {
        try (AgentProcess agent = AgentProcess.start("trickling-loris", "--frame-timeout", "2")) {
            List<HostConnection> loris = new ArrayList<>();
            Thread trickle = new Thread(() -> {
                try {
                    while (!Thread.currentThread().isInterrupted()) {
                        Thread.sleep(200);
                        for (HostConnection h : loris) {
                            try {
                                if (!h.disconnected()) {
                                    h.sendRaw(new byte[] {0});
                                }
                            } catch (java.io.IOException dropped) {
                                // a host the agent closed meanwhile: the others trickle on
                            }
                        }
                    }
                } catch (InterruptedException stopped) {
                    // the test is done
                }
            }, "trickle");
            trickle.setDaemon(true);
            try {
                for (int i = 0; i < 8; i++) {
                    HostConnection h = agent.connectReady();
                    loris.add(h);
                    h.sendRaw(largeFrameBegun(1));
                }
                trickle.start();
                try (HostConnection victim = agent.connectReady()) {
                    String half = "x".repeat(100_000);
                    victim.exec(5, ExecRequest.of("true", half, half));
                    assertEquals(0, victim.collect(5, HostConnection.TIMEOUT).code());
                }
                for (HostConnection h : loris) {
                    ErrorPayload e = h.expectError(0, "malformed_message");
                    assertTrue(e.message().contains("less than 64 KiB more of a frame begun came for"), e.message());
                }
                agent.awaitLog("less than 64 KiB more of a frame cut short");
            } finally {
                trickle.interrupt();
                for (HostConnection h : loris) {
                    h.close();
                }
            }
        }
    }
}
