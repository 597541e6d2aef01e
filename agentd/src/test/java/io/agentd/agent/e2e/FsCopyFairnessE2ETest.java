package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.Empty;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * One host's Copies of huge sparse files do not keep another host's fs requests waiting. The agent
 * has two fs workers for every host (FsSettings.DEFAULTS); a Copy ran on one to its end and read
 * every byte of its source, holes too: two Copies of 1 TiB files (a few bytes of data, the rest a
 * hole) held both workers for some 40 minutes each, and another host's Stat of / went unanswered
 * all that while (a review: 8 TiB, five hours). Now a Copy reads only its source's data and gives
 * its worker back between slices; the copies keep the holes, and the size.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class FsCopyFairnessE2ETest {
    private static final long TIB = 1L << 40;
    /** Where the sources have data: the start, one in the middle, the last bytes. */
    private static final long[] DATA_AT = {0, TIB / 2 + 12345, TIB - 5};
    /** How long the other host's Stat may take: generous, on two shared cores. */
    private static final Duration STAT_WITHIN = Duration.ofSeconds(5);

    @RegisterExtension
    static final SharedAgent agent = new SharedAgent("fs-copy-fairness");

    private Path dir;

    @BeforeEach
    void tempDir() throws Exception {
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target/e2e").toAbsolutePath()), "fs-sparse-");
    }

    @Test
    void anotherHostsStatIsAnsweredWhileOneHostCopiesTwoHugeSparseFiles(HostConnection copier, HostConnection other)
            throws Exception {
        Path first = sparseSource("one");
        Path second = sparseSource("two");

        long copyOne = send(copier, new FsOp.Copy(first.toString(), dir.resolve("one.copy").toString()));
        long copyTwo = send(copier, new FsOp.Copy(second.toString(), dir.resolve("two.copy").toString()));
        // The loop reads a connection's frames in order: at the pong both Copies were handed to the workers.
        long ping = FsHost.newId();
        copier.send(new Frame(ping, MessageType.CORE_PING, Empty.INSTANCE));
        copier.expect(ping, MessageType.CORE_PONG);
        long stat = send(other, new FsOp.Stat("/", true));

        Frame statAnswer = other.nextOrNull(stat, STAT_WITHIN);
        assertNotNull(statAnswer, "the other host's Stat of / was not answered within " + STAT_WITHIN
                + " while the first host's two Copies ran");
        assertTrue(((FsResponse) statAnswer.payload()).ok(), statAnswer.toString());
        for (long id : new long[] {copyOne, copyTwo}) {
            FsResponse copied = (FsResponse) copier.next(id, Duration.ofSeconds(60)).payload();
            assertTrue(copied.ok(), copied.toString());
        }
        for (String name : new String[] {"one", "two"}) {
            Path copy = dir.resolve(name + ".copy");
            assertEquals(TIB, Files.size(copy), "the copy is as long as its source");
            assertTrue(blocks(copy) < 1024, "the copy keeps its source's holes: " + blocks(copy) + " blocks");
            try (RandomAccessFile f = new RandomAccessFile(copy.toFile(), "r")) {
                for (int i = 0; i < DATA_AT.length; i++) {
                    assertEquals(marker(name, i), read(f, DATA_AT[i], marker(name, i).length()), "data at " + DATA_AT[i]);
                }
            }
        }
    }

    /**
     * A 1 TiB file in the test's directory with a few bytes of data: the test is skipped, saying
     * why, where the file system has no room for such a file or no holes (it took blocks).
     */
    private Path sparseSource(String name) throws Exception {
        Path p = dir.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(TIB);
            for (int i = 0; i < DATA_AT.length; i++) {
                f.seek(DATA_AT[i]);
                f.write(marker(name, i).getBytes(StandardCharsets.US_ASCII));
            }
        } catch (IOException e) {
            Assumptions.abort("the file system of " + dir + " takes no 1 TiB sparse file: " + e);
        }
        Assumptions.assumeTrue(blocks(p) < 1024, "the file system of " + dir + " has no sparse files: a 1 TiB file"
                + " with a few bytes took " + blocks(p) + " blocks");
        return p;
    }

    /** Five bytes, the most the last place holds: "one0!" for source one's first. */
    private static String marker(String name, int place) {
        return name.substring(0, 3) + place + "!";
    }

    private static String read(RandomAccessFile f, long at, int length) throws IOException {
        byte[] b = new byte[length];
        f.seek(at);
        f.readFully(b);
        return new String(b, StandardCharsets.US_ASCII);
    }

    private static long send(HostConnection host, FsOp op) throws IOException {
        long id = FsHost.newId();
        host.send(new Frame(id, MessageType.FS_REQUEST, new FsRequest(op, null, true)));
        return id;
    }

    /** st_blocks, 512-byte units, as stat(1) reads it. */
    static long blocks(Path p) throws Exception {
        Process stat = new ProcessBuilder("stat", "-c", "%b", p.toString()).redirectErrorStream(true).start();
        String out = new String(stat.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
        assertEquals(0, stat.waitFor(), out);
        return Long.parseLong(out);
    }
}
