package io.agentd.agent.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsOpenOptions;
import io.agentd.protocol.payload.FsResponse;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * An atomic upload onto a FIFO, a socket or a device is refused (EINVAL, "not a regular file"), as
 * an OpenFile in place refuses it, and the special file stays as it was. The rename at the close
 * replaced it with a regular file: `agentctl cp f :/dev/null` left the guest's /dev/null a regular
 * file holding f. Needs root (mknod); FsService with the test thread as its loop and a real worker.
 */
class FsAtomicUploadSpecialFileTest {
    private static final FsOpenOptions ATOMIC = new FsOpenOptions(false, true, false, true, true, false, null, true);

    private final OneConnectionFs fs = new OneConnectionFs(Duration.ofSeconds(10));
    private Path dir;

    @BeforeEach
    void files() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root: mknod");
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target/fs-atomic").toAbsolutePath()), "special-");
    }

    @AfterEach
    void stop() {
        fs.close();
    }

    @Test
    void aFifoASocketAndADeviceAreRefusedAndLeftAsTheyWere() throws Exception {
        Path fifo = dir.resolve("fifo");
        Path device = dir.resolve("null");
        Path socket = dir.resolve("sock");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        assertEquals(0, new ProcessBuilder("mknod", device.toString(), "c", "1", "3").start().waitFor());
        try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            s.bind(UnixDomainSocketAddress.of(socket));
        }
        Map<Path, String> kinds = Map.of(fifo, "a FIFO", device, "a character device", socket, "a socket");
        for (Map.Entry<Path, String> special : kinds.entrySet()) {
            Path path = special.getKey();
            int before = (Integer) Files.getAttribute(path, "unix:mode");
            FsResponse opened = fs.run(new FsOp.OpenFile(path.toString(), ATOMIC));
            assertFalse(opened.ok(), path + ": " + opened);
            assertEquals("EINVAL", opened.errnoName(), opened.toString());
            assertTrue(opened.error().contains(special.getValue() + ", not a regular file"), opened.error());
            assertEquals(before, (Integer) Files.getAttribute(path, "unix:mode"), path + " is as it was");
        }
        try (Stream<Path> left = Files.list(dir)) {
            assertEquals(List.of("fifo", "null", "sock"), left.map(p -> p.getFileName().toString()).sorted().toList(),
                    "no temporary file left");
        }
        // a regular file (and a new name) is still uploaded atomically
        Files.writeString(dir.resolve("file"), "old");
        assertTrue(fs.run(new FsOp.OpenFile(dir.resolve("file").toString(), ATOMIC)).ok());
        assertTrue(fs.run(new FsOp.OpenFile(dir.resolve("new").toString(), ATOMIC)).ok());
    }
}
