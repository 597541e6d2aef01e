package io.agentd.agent.session;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.io.ByteArrayOutputStream;
import java.io.FileInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The queue's chunks: small frames are gathered, so what is queued costs about its bytes. */
class StdinQueueTest {

    @Test
    void oneByteFramesAreGatheredIntoFewChunks() {
        StdinQueue q = new StdinQueue();
        for (int i = 0; i < 1_000_000; i++) {
            q.add(new byte[] {(byte) i});
        }
        assertEquals(1_000_000, q.size());
        assertTrue(q.chunkCount() <= 1_000_000 / StdinQueue.GATHER_BYTES + 1, "chunks: " + q.chunkCount());
    }

    @Test
    void chunksStayBoundedByTheBytesWhateverTheFrameSizes() {
        StdinQueue q = new StdinQueue();
        Random random = new Random(7);
        for (int i = 0; i < 10_000; i++) {
            int len = switch (random.nextInt(4)) {
                case 0 -> 1;
                case 1 -> StdinQueue.GATHER_BYTES / 2 + 1;
                case 2 -> StdinQueue.GATHER_BYTES - 1;
                default -> StdinQueue.GATHER_BYTES;
            };
            q.add(new byte[len]);
        }
        // Every chunk but the last holds a whole large frame or, with its neighbour, more than GATHER_BYTES.
        assertTrue(q.chunkCount() <= 2 * (q.size() / StdinQueue.GATHER_BYTES) + 2,
                "chunks " + q.chunkCount() + " for " + q.size() + " bytes");
    }

    @Test
    void bytesComeOutInOrderWhateverTheMixOfFrames() throws Exception {
        StdinQueue q = new StdinQueue();
        ByteArrayOutputStream sent = new ByteArrayOutputStream();
        Random random = new Random(3);
        for (int i = 0; i < 3000; i++) {
            byte[] data = new byte[random.nextBoolean() ? random.nextInt(20) : random.nextInt(9000)];
            random.nextBytes(data);
            q.add(data);
            sent.write(data);
        }
        Path file = Files.createTempFile(Path.of("target"), "stdin-queue", ".bin");
        try {
            byte[] path = (file.toString() + "\0").getBytes(java.nio.charset.StandardCharsets.UTF_8);
            int fd = Os.libc().open(path, LibC.O_RDWR | LibC.O_CLOEXEC, 0);
            assertTrue(fd >= 0, "open " + file);
            try {
                while (!q.isEmpty()) {
                    q.writeTo(fd);
                }
            } finally {
                Os.close(fd);
            }
            assertArrayEquals(sent.toByteArray(), readAll(file));
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Test
    void bulkFramesGoThroughPooledSegmentsInOrderAndGiveThemBack() throws Exception {
        int before = StdinSegments.inUse();
        StdinQueue q = new StdinQueue();
        ByteArrayOutputStream sent = new ByteArrayOutputStream();
        Random random = new Random(5);
        byte[] reused = new byte[StdinSegments.SEGMENT_BYTES];
        for (int i = 0; i < 40; i++) {
            int len = i % 3 == 0 ? 100 : StdinQueue.BULK_BYTES + random.nextInt(StdinSegments.SEGMENT_BYTES);
            byte[] data = len == reused.length ? reused : new byte[len];
            random.nextBytes(data);
            q.add(data);
            sent.write(data);
            random.nextBytes(reused); // the caller reuses its array: the queue must have copied it
        }
        assertTrue(StdinSegments.inUse() > before, "bulk frames use segments");
        // every chunk but the last is full: the chunks are bounded by the bytes
        assertTrue(q.chunkCount() <= q.size() / StdinQueue.GATHER_BYTES + 1, "chunks " + q.chunkCount());
        Path file = Files.createTempFile(Path.of("target"), "stdin-queue", ".bin");
        try {
            byte[] path = (file.toString() + "\0").getBytes(java.nio.charset.StandardCharsets.UTF_8);
            int fd = Os.libc().open(path, LibC.O_RDWR | LibC.O_CLOEXEC, 0);
            assertTrue(fd >= 0, "open " + file);
            try {
                while (!q.isEmpty()) {
                    q.writeTo(fd);
                }
            } finally {
                Os.close(fd);
            }
            assertArrayEquals(sent.toByteArray(), readAll(file));
        } finally {
            Files.deleteIfExists(file);
        }
        assertEquals(before, StdinSegments.inUse(), "segments written out go back to the pool");
        q.add(new byte[StdinSegments.SEGMENT_BYTES * 3]);
        assertEquals(before + 3, StdinSegments.inUse());
        assertEquals(StdinSegments.SEGMENT_BYTES * 3L, q.clear());
        assertEquals(before, StdinSegments.inUse(), "cleared segments go back to the pool");
    }

    private static byte[] readAll(Path file) throws IOException {
        try (FileInputStream in = new FileInputStream(file.toFile())) {
            return in.readAllBytes();
        }
    }
}
