package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import io.agentd.protocol.Frame;
import io.agentd.protocol.FrameDecoder;
import io.agentd.protocol.FrameEncoder;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.ExecExited;
import io.agentd.protocol.payload.ExecRequest;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * --port on a tty: the test holds a PTY master and the agent serves the slave, which it puts in raw
 * mode. Every byte value crosses unchanged (no echo, no CR/LF translation, no ^C or ^D handling).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TtyPortE2ETest {
    private final LibC libc = Os.libc();
    private final FrameEncoder encoder = new FrameEncoder();
    private final FrameDecoder decoder = new FrameDecoder();

    @Test
    void agentServesATtyInRawMode() throws Exception {
        int master = libc.posix_openpt(LibC.O_RDWR | LibC.O_NOCTTY | LibC.O_CLOEXEC);
        assertTrue(master >= 0, "posix_openpt");
        try {
            assertEquals(0, libc.grantpt(master));
            assertEquals(0, libc.unlockpt(master));
            byte[] name = new byte[128];
            assertEquals(0, libc.ptsname_r(master, name, name.length));
            Path slave = Path.of(new String(name, 0, indexOfNul(name), StandardCharsets.US_ASCII));
            try (AgentProcess agent = AgentProcess.startOnPort("tty", slave)) {
                assertEquals(MessageType.CORE_READY, read(master).type(), agent.logText());
                write(master, new Frame(3, MessageType.CORE_PING, Empty.INSTANCE));
                assertEquals(MessageType.CORE_PONG, read(master).type());

                byte[] every = new byte[256];
                for (int i = 0; i < 256; i++) {
                    every[i] = (byte) i;
                }
                write(master, new Frame(4, MessageType.EXEC_REQUEST, ExecRequest.of("cat")));
                assertEquals(MessageType.EXEC_STARTED, read(master).type());
                write(master, new Frame(4, MessageType.EXEC_STDIN, new ExecData(every)));
                write(master, new Frame(4, MessageType.EXEC_STDIN, new ExecData(new byte[0])));
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                while (true) {
                    Frame f = read(master);
                    if (f.type() == MessageType.EXEC_EXITED) {
                        assertEquals(0, ((ExecExited) f.payload()).code());
                        break;
                    }
                    assertEquals(MessageType.EXEC_STDOUT, f.type());
                    out.writeBytes(((ExecData) f.payload()).data());
                }
                assertTrue(Arrays.equals(every, out.toByteArray()), "all 256 byte values round-trip");
            }
        } finally {
            libc.close(master);
        }
    }

    /** One agent on a tty port and a unix socket at once: two hosts, each with its own id 1. */
    @Test
    void aPortAndASocketAreServedTogether() throws Exception {
        int master = libc.posix_openpt(LibC.O_RDWR | LibC.O_NOCTTY | LibC.O_CLOEXEC);
        assertTrue(master >= 0, "posix_openpt");
        try {
            assertEquals(0, libc.grantpt(master));
            assertEquals(0, libc.unlockpt(master));
            byte[] name = new byte[128];
            assertEquals(0, libc.ptsname_r(master, name, name.length));
            Path slave = Path.of(new String(name, 0, indexOfNul(name), StandardCharsets.US_ASCII));
            try (AgentProcess agent = AgentProcess.start("tty-and-socket", "--port", slave.toString());
                    HostConnection socketHost = agent.connectReady()) {
                assertEquals(MessageType.CORE_READY, read(master).type(), agent.logText());
                write(master, new Frame(1, MessageType.EXEC_REQUEST, ExecRequest.of("sh", "-c", "sleep 0.3; exit 5")));
                socketHost.exec(1, ExecRequest.of("sh", "-c", "exit 6"));
                assertEquals(6, socketHost.collect(1, HostConnection.TIMEOUT).code(), "the socket's session 1");
                assertEquals(MessageType.EXEC_STARTED, read(master).type());
                Frame exited = read(master);
                assertEquals(MessageType.EXEC_EXITED, exited.type());
                assertEquals(5, ((ExecExited) exited.payload()).code(), "the port's session 1");
                assertTrue(agent.logText().contains("serving " + slave + " and unix:"), agent.logText());
            }
        } finally {
            libc.close(master);
        }
    }

    private static int indexOfNul(byte[] b) {
        for (int i = 0; i < b.length; i++) {
            if (b[i] == 0) {
                return i;
            }
        }
        return b.length;
    }

    private void write(int fd, Frame frame) {
        byte[] bytes = encoder.encode(frame);
        long n = libc.write(fd, bytes, bytes.length);
        assertEquals(bytes.length, n, "write to the PTY master");
    }

    /** The next frame from the master, waiting up to 20 s. */
    private Frame read(int fd) throws Exception {
        Pointer pollfd = Memory.allocateDirect(Os.runtime(), 8, true);
        byte[] buf = new byte[65536];
        long deadline = System.currentTimeMillis() + 20_000;
        while (true) {
            Frame f = decoder.next();
            if (f != null) {
                return f;
            }
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                throw new AssertionError("no frame from the agent on the tty");
            }
            pollfd.putInt(0, fd);
            pollfd.putShort(4, LibC.POLLIN);
            pollfd.putShort(6, (short) 0);
            if (libc.poll(pollfd, 1, (int) left) == 1 && (pollfd.getShort(6) & LibC.POLLIN) != 0) {
                long n = libc.read(fd, buf, buf.length);
                if (n > 0) {
                    decoder.feed(buf, 0, (int) n);
                }
            }
        }
    }
}
