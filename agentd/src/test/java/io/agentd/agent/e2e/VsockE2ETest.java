package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.agent.transport.VsockServer;
import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameDecoder;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecExited;
import io.agentd.protocol.payload.ExecRequest;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * --listen vsock:PORT. Needs AF_VSOCK in the kernel running the tests (the vsock module) and, to
 * connect to the agent, the loopback transport (vsock_loopback, CID 1); each test says which it
 * lacks and is skipped, never passed. The guest checks the same in the VM (scripts/guest/vm-test).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class VsockE2ETest {
    private static final int AF_VSOCK = 40;
    private static final int SOCK_STREAM = 1;
    private static final int VMADDR_CID_ANY = 0xFFFF_FFFF;
    private static final int VMADDR_CID_LOCAL = 1;

    @Test
    void aVsockPortInUseStopsTheAgentAtStartSayingSo() throws Exception {
        assumeTrue(VsockServer.available(), "skipped: socket(AF_VSOCK) fails here (no vsock module in this kernel)");
        int taken = socket();
        long port = bindSomePort(taken);
        try {
            AgentProcess agent = AgentProcess.run("vsock-in-use", "--listen", "vsock:" + port, "--state-dir",
                    LaunchedAgent.newDir("vsock-state").resolve("state").toString());
            assertEquals(1, agent.awaitExit(Duration.ofSeconds(5)), agent.logText());
            assertTrue(agent.logText().contains("cannot listen on vsock:" + port + ": the port is in use"),
                    agent.logText());
        } finally {
            Os.close(taken);
        }
    }

    @Test
    void hostsAreServedOnVsockEachWithItsOwnReadyAndIds() throws Exception {
        assumeTrue(VsockServer.available(), "skipped: socket(AF_VSOCK) fails here (no vsock module in this kernel)");
        assumeTrue(loopbackWorks(), "skipped: AF_VSOCK works but a connection to CID 1 does not (no vsock_loopback "
                + "transport in this kernel); the VM test checks vsock in the guest");
        long port = 20_000 + ThreadLocalRandom.current().nextInt(40_000);
        try (AgentProcess agent = AgentProcess.start("vsock", "--listen", "vsock:" + port)) {
            int a = connectWithin(port, Duration.ofSeconds(10)); // vsock is bound just after the unix socket
            int b = connectWithin(port, Duration.ofSeconds(10));
            try {
                FrameDecoder da = new FrameDecoder();
                FrameDecoder db = new FrameDecoder();
                assertEquals(MessageType.CORE_READY, read(a, da).type());
                assertEquals(MessageType.CORE_READY, read(b, db).type());
                send(a, new Frame(1, MessageType.EXEC_REQUEST, ExecRequest.of("sh", "-c", "exit 7")));
                send(b, new Frame(1, MessageType.EXEC_REQUEST, ExecRequest.of("sh", "-c", "exit 9")));
                assertEquals(7, exitCode(a, da));
                assertEquals(9, exitCode(b, db));
            } finally {
                Os.close(a);
                Os.close(b);
            }
            agent.awaitLog("(vsock:" + port + " (cid ");
        }
    }

    private static int socket() {
        int fd = Os.libc().socket(AF_VSOCK, SOCK_STREAM | LibC.O_CLOEXEC, 0);
        assertTrue(fd >= 0, "socket(AF_VSOCK): " + Os.errnoName(Os.errno()));
        return fd;
    }

    private static ByteBuffer address(int cid, long port) {
        ByteBuffer addr = Os.allocate(16);
        addr.putShort(0, (short) AF_VSOCK);
        addr.putInt(4, (int) port);
        addr.putInt(8, cid);
        return addr;
    }

    /** Binds and listens on a free port of the range the tests use; returns it. */
    private static long bindSomePort(int fd) {
        for (int i = 0; i < 100; i++) {
            long port = 20_000 + ThreadLocalRandom.current().nextInt(40_000);
            if (Os.libc().bind(fd, address(VMADDR_CID_ANY, port), 16) == 0 && Os.libc().listen(fd, 1) == 0) {
                return port;
            }
        }
        throw new AssertionError("no free vsock port: " + Os.errnoName(Os.errno()));
    }

    /** A connection to our own listener on CID 1 (the kernel gives up after its 2 s connect timeout). */
    private static boolean loopbackWorks() {
        int listener = socket();
        int client = socket();
        try {
            long port = bindSomePort(listener);
            return Os.libc().connect(client, address(VMADDR_CID_LOCAL, port), 16) == 0;
        } finally {
            Os.close(client);
            Os.close(listener);
        }
    }

    private static int connectWithin(long port, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            int fd = socket();
            if (Os.libc().connect(fd, address(VMADDR_CID_LOCAL, port), 16) == 0) {
                return fd;
            }
            int err = Os.errno();
            Os.close(fd);
            assertTrue(System.nanoTime() < deadline, "cannot connect to vsock:" + port + ": " + Os.errnoName(err));
            Thread.sleep(100);
        }
    }

    private static void send(int fd, Frame frame) throws Exception {
        ByteBuffer b = ByteBuffer.wrap(new FrameEncoder().encode(frame));
        while (b.hasRemaining()) {
            Os.write(fd, b);
        }
    }

    /** The next frame (blocking reads; the test's timeout bounds them). */
    private static Frame read(int fd, FrameDecoder decoder) throws Exception {
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        while (true) {
            Frame f = decoder.next();
            if (f != null) {
                return f;
            }
            buf.clear();
            int n = Os.read(fd, buf);
            assertTrue(n > 0, "the agent closed the vsock connection");
            decoder.feed(buf.flip());
        }
    }

    private static int exitCode(int fd, FrameDecoder decoder) throws Exception {
        while (true) {
            Frame f = read(fd, decoder);
            if (f.type() == MessageType.EXEC_EXITED) {
                return ((ExecExited) f.payload()).code();
            }
            assertTrue(f.type() == MessageType.EXEC_STARTED || f.type() == MessageType.EXEC_STDOUT
                    || f.type() == MessageType.EXEC_STDERR, "unexpected " + f);
        }
    }
}
