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
import io.agentd.protocol.Protocol;
import io.agentd.protocol.payload.ExecStdinError;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsOpenOptions;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import io.agentd.protocol.payload.FsResponseData;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
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
            Path slave = unlock(master);
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
            Path slave = unlock(master);
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
                assertTrue(agent.logText().contains("serving " + slave + " (host loss: keep) and unix:"), agent.logText());
            }
        } finally {
            libc.close(master);
        }
    }

    /**
     * A frame length the port's decoder refuses (over 4 MiB) is skipped unread, and its id is
     * unknown: it may have been stdin or Write data. The session's later stdin is refused (EINVAL)
     * and the Write in progress fails, so neither the child nor the file gets a stream with a hole.
     * Before, "after" reached cat and "def" the file, both as if nothing had been lost.
     */
    @Test
    void aFrameThePortSkipsUnreadEndsTheHostsDataStreamsInProgress() throws Exception {
        int master = libc.posix_openpt(LibC.O_RDWR | LibC.O_NOCTTY | LibC.O_CLOEXEC);
        assertTrue(master >= 0, "posix_openpt");
        Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target/e2e").toAbsolutePath()), "skipped-frame-");
        Path file = dir.resolve("upload");
        try {
            Path slave = unlock(master);
            try (AgentProcess agent = AgentProcess.startOnPort("tty-skipped-frame", slave)) {
                assertEquals(MessageType.CORE_READY, read(master).type(), agent.logText());
                write(master, new Frame(4, MessageType.EXEC_REQUEST, ExecRequest.of("cat")));
                assertEquals(MessageType.EXEC_STARTED, read(master).type());
                write(master, new Frame(5, MessageType.FS_REQUEST, new FsRequest(new FsOp.OpenFile(file.toString(),
                        new FsOpenOptions(false, true, false, true, true, false, null)), null, true)));
                Frame opened = read(master);
                FsResponse openResponse = (FsResponse) opened.payload();
                assertTrue(openResponse.ok(), openResponse.toString());
                long handle = ((FsResponseData.Handle) openResponse.data()).handle();
                write(master, new Frame(6, MessageType.FS_REQUEST,
                        new FsRequest(new FsOp.Write(handle, 0, null, false), null, true)));
                write(master, new Frame(4, MessageType.EXEC_STDIN, new ExecData("before ".getBytes())));
                write(master, new Frame(6, MessageType.FS_DATA, new ExecData("abc".getBytes())));

                int skipped = Protocol.MAX_FRAME_LEN + 1; // an honest length, over the agent's limit
                byte[] frame = new byte[4 + skipped];
                ByteBuffer.wrap(frame).putInt(skipped);
                writeAll(master, frame);

                write(master, new Frame(4, MessageType.EXEC_STDIN, new ExecData("after".getBytes())));
                write(master, new Frame(6, MessageType.FS_DATA, new ExecData("def".getBytes())));
                write(master, new Frame(6, MessageType.FS_DATA, ExecData.EOF));
                write(master, new Frame(4, MessageType.EXEC_STDIN, ExecData.EOF));

                ByteArrayOutputStream out = new ByteArrayOutputStream();
                FsResponse writeResponse = null;
                Integer stdinErrno = null;
                boolean lostStreamError = false;
                boolean exited = false;
                while (!exited || writeResponse == null) { // the Write answers once 'abc' is in the file
                    Frame f = read(master);
                    switch (f.type()) {
                        case EXEC_EXITED -> exited = true;
                        case EXEC_STDOUT -> out.writeBytes(((ExecData) f.payload()).data());
                        case FS_RESPONSE -> writeResponse = (FsResponse) f.payload();
                        case EXEC_STDIN_ERROR -> stdinErrno = ((ExecStdinError) f.payload()).errno();
                        case CORE_ERROR -> lostStreamError |= f.id() == 0;
                        default -> { }
                    }
                }
                assertTrue(lostStreamError, "the skipped frame was answered on id 0");
                assertEquals("before ", out.toString(StandardCharsets.UTF_8), "a prefix of what the host sent");
                assertEquals(LibC.EINVAL, stdinErrno, "the later stdin was refused");
                assertTrue(writeResponse != null && !writeResponse.ok(), String.valueOf(writeResponse));
                assertEquals("EINVAL", writeResponse.errnoName(), writeResponse.toString());
                assertEquals("abc", Files.readString(file), "nothing after the skipped frame was written");
            }
        } finally {
            libc.close(master);
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
    }

    /**
     * The agent holds its tty port exclusive (TIOCEXCL): a strict session, uid 0 and so the node's
     * owner, but without CAP_SYS_ADMIN, cannot open it. Before, it opened the port the agent was
     * serving, and could write frames of its own to the host (a forged exited), read the host's, and
     * change the port's mode. Needs root (the strict profile), as CI runs.
     */
    @Test
    void aStrictSessionCannotOpenThePortTheAgentServes() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root (strict)");
        int master = libc.posix_openpt(LibC.O_RDWR | LibC.O_NOCTTY | LibC.O_CLOEXEC);
        assertTrue(master >= 0, "posix_openpt");
        try {
            Path slave = unlock(master);
            try (AgentProcess agent = AgentProcess.startOnPort("tty-exclusive", slave)) {
                assertEquals(MessageType.CORE_READY, read(master).type(), agent.logText());
                write(master, new Frame(4, MessageType.EXEC_REQUEST, ExecRequest.of("sh", "-c",
                        "exec 3<>" + slave + " && echo opened").withProfile("strict")));
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                ByteArrayOutputStream err = new ByteArrayOutputStream();
                while (true) {
                    Frame f = read(master);
                    if (f.type() == MessageType.EXEC_EXITED) {
                        break;
                    }
                    switch (f.type()) {
                        case EXEC_STDOUT -> out.writeBytes(((ExecData) f.payload()).data());
                        case EXEC_STDERR -> err.writeBytes(((ExecData) f.payload()).data());
                        default -> assertEquals(MessageType.EXEC_STARTED, f.type(), f.toString());
                    }
                }
                String said = out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8);
                assertTrue(said.contains("busy") && !said.contains("opened"), said);
                write(master, new Frame(5, MessageType.CORE_PING, Empty.INSTANCE));
                assertEquals(MessageType.CORE_PONG, read(master).type(), "the port is still served");
            }
        } finally {
            libc.close(master);
        }
    }

    private Path unlock(int master) {
        assertEquals(0, libc.grantpt(master));
        assertEquals(0, libc.unlockpt(master));
        byte[] name = new byte[128];
        assertEquals(0, libc.ptsname_r(master, name, name.length));
        return Path.of(new String(name, 0, indexOfNul(name), StandardCharsets.US_ASCII));
    }

    private void writeAll(int fd, byte[] bytes) {
        int off = 0;
        while (off < bytes.length) {
            byte[] piece = Arrays.copyOfRange(bytes, off, Math.min(bytes.length, off + 65536));
            long n = libc.write(fd, piece, piece.length);
            assertTrue(n > 0, "write to the PTY master");
            off += (int) n;
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
        ByteBuffer pollfd = Os.allocate(8);
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
