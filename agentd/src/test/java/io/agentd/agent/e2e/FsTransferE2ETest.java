package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsOpenOptions;
import io.agentd.protocol.payload.FsResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Large transfers through the unix socket: 64 MiB up and down with equal SHA-256, the agent still
 * answering ping meanwhile (the bounds on what a Write may make the agent hold are in FsServiceTest).
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class FsTransferE2ETest {
    private static final int SIZE = 64 * 1024 * 1024;
    /** FsSettings.DEFAULTS: the window a flow-controlled Write is kept at, and an old host's buffer. */
    private static final long WINDOW = 4 * 1024 * 1024;
    private static final long BUFFER = 16 * 1024 * 1024;

    @RegisterExtension
    static final SharedAgent agent = new SharedAgent("fs-transfer");

    private Path dir;

    @BeforeEach
    void tempDir() throws Exception {
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target/e2e").toAbsolutePath()), "fs-big-");
    }

    @Test
    void sixtyFourMibUpAndDownWithEqualSha256AndPingsAnswered(HostConnection host) throws Exception {
        FsHost fs = new FsHost(host);
        byte[] data = new byte[SIZE];
        new Random(7).nextBytes(data);
        String expected = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        Path file = dir.resolve("big.bin");

        long up = fs.open(file.toString(), FsOpenOptions.replacing(0644L));
        Thread pinger = pinger(host, 900_001);
        FsResponse written = fs.write(up, 0, data, true, 512 * 1024);
        pinger.join();
        assertTrue(written.ok(), written.toString());
        assertEquals(expected, written.sha256());
        fs.ok(new FsOp.CloseHandle(up));
        assertEquals(SIZE, Files.size(file));
        assertEquals(expected, HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file))));
        data = null;

        long down = fs.open(file.toString(), FsOpenOptions.reading());
        pinger = pinger(host, 900_101);
        FsHost.Download read = fs.read(down, 0, null, false);
        pinger.join();
        assertTrue(read.response().ok(), read.response().toString());
        assertEquals(SIZE, read.bytes());
        assertEquals(expected, read.sha256());
        assertEquals(expected, read.response().sha256());
        assertTrue(read.largestChunk() <= 256 * 1024, "chunks of at most 256 KiB: " + read.largestChunk());
        fs.ok(new FsOp.CloseHandle(down));
    }

    /**
     * Frames smaller than the agent's 256 KiB buffers (agentctl sends 64 KiB) are appended to the
     * buffer queued last while it has room: at every frame size, fitting a buffer evenly or not, the
     * file and the agent's sha256 are the bytes sent, in order.
     */
    @Test
    void smallFramesAreWrittenInOrderWithTheirSha256(HostConnection host) throws Exception {
        FsHost fs = new FsHost(host);
        byte[] data = new byte[8 * 1024 * 1024 + 3];
        new Random(16).nextBytes(data);
        String expected = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        for (int frame : new int[] {64 * 1024, 10_007, 100_003, 256 * 1024 + 1}) {
            for (boolean window : new boolean[] {true, false}) {
                Path file = dir.resolve("frames-" + frame + "-" + window + ".bin");
                long up = fs.open(file.toString(), FsOpenOptions.replacing(0644L));
                FsResponse written = fs.write(up, 0, data, window, frame);
                assertTrue(written.ok(), frame + " " + window + ": " + written);
                assertEquals(expected, written.sha256(), frame + "-byte frames, window " + window);
                fs.ok(new FsOp.CloseHandle(up));
                assertTrue(java.util.Arrays.equals(data, Files.readAllBytes(file)), frame + "-byte frames, window " + window);
            }
        }
    }

    /** Sends 50 pings, each waiting for its pong: the loop answers while a transfer runs (no timing asserted). */
    private static Thread pinger(HostConnection host, long firstId) {
        Thread t = new Thread(() -> {
            try {
                for (long id = firstId; id < firstId + 50; id++) {
                    host.send(new Frame(id, MessageType.CORE_PING, Empty.INSTANCE));
                    host.expect(id, MessageType.CORE_PONG);
                }
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        t.start();
        return t;
    }

    // The credit and buffer bounds of a Write into a file that takes nothing were shown here with a
    // FIFO; OpenFile refuses FIFOs now, so FsServiceTest shows them with a FIFO handle it makes itself.
}
