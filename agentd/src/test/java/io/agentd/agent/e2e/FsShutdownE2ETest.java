package io.agentd.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.Frame;
import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecData;
import io.agentd.protocol.payload.FsOp;
import io.agentd.protocol.payload.FsOpenOptions;
import io.agentd.protocol.payload.FsRequest;
import io.agentd.protocol.payload.FsResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The agent stops (core.shutdown from another connection, or SIGTERM) with fs requests in progress:
 * each is answered ECANCELED before its connection's flush, where before the host saw its
 * connection end with no answer (a review's shutdown race). Each on an agent of its own.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class FsShutdownE2ETest {

    /** A Write with 60000 bytes sent and no empty chunk: its answer says how far it got. */
    @Test
    void aWriteWaitingForDataIsAnsweredEcanceledWithItsCountBeforeTheAgentExitsZero() throws Exception {
        try (AgentProcess agent = AgentProcess.start("fs-shutdown-write");
                HostConnection uploader = agent.connect();
                HostConnection other = agent.connect()) {
            uploader.expect(0, MessageType.CORE_READY);
            other.expect(0, MessageType.CORE_READY);
            FsHost fs = new FsHost(uploader);
            Path file = agent.dir().resolve("upload.bin");
            long handle = fs.open(file.toString(), FsOpenOptions.replacing(0644L));
            long id = FsHost.newId();
            uploader.send(new Frame(id, MessageType.FS_REQUEST,
                    new FsRequest(new FsOp.Write(handle, 0, null), null, true)));
            uploader.send(new Frame(id, MessageType.FS_DATA, new ExecData(new byte[60000])));
            awaitSize(file, 60000);

            other.send(new Frame(0, MessageType.CORE_SHUTDOWN, null));

            FsResponse answer = (FsResponse) uploader.expect(id, MessageType.FS_RESPONSE).payload();
            assertFalse(answer.ok(), answer.toString());
            assertEquals("ECANCELED", answer.errnoName(), answer.toString());
            assertTrue(answer.error().contains("the agent is shutting down")
                    && answer.error().contains("60000 bytes written at offset 0"), answer.error());
            assertEquals(0, agent.awaitExit(Duration.ofSeconds(30)));
            assertEquals(60000, Files.size(file));
        }
    }

    /**
     * A Read paused above the high-water mark (its host reads nothing) when SIGTERM comes: once the
     * host reads again it gets the chunks queued, then the Read's ECANCELED answer, then the end.
     */
    @Test
    void aPausedReadIsAnsweredEcanceledAfterItsQueuedChunks() throws Exception {
        try (AgentProcess agent = AgentProcess.start("fs-shutdown-read");
                HostConnection host = agent.connect()) {
            host.expect(0, MessageType.CORE_READY);
            FsHost fs = new FsHost(host);
            Path file = agent.dir().resolve("download.bin");
            byte[] data = new byte[24 * 1024 * 1024];
            new Random(3).nextBytes(data);
            Files.write(file, data);
            long handle = fs.open(file.toString(), FsOpenOptions.reading());
            host.pauseReading();
            long id = FsHost.newId();
            host.send(new Frame(id, MessageType.FS_REQUEST, new FsRequest(new FsOp.Read(handle, 0, null), null, true)));
            Thread.sleep(500); // the Read fills the output to its mark and pauses
            agent.signal(15);
            Thread.sleep(300);
            host.resumeReading();
            long bytes = 0;
            Frame f;
            while ((f = host.next(id)).type() == MessageType.FS_DATA) {
                bytes += ((ExecData) f.payload()).data().length;
            }
            assertEquals(MessageType.FS_RESPONSE, f.type(), f.toString());
            FsResponse answer = (FsResponse) f.payload();
            assertEquals("ECANCELED", answer.errnoName(), answer.toString());
            assertTrue(bytes < data.length, bytes + " bytes came");
            assertTrue(answer.error().contains("the agent is shutting down; " + bytes + " bytes sent"), answer.error());
            assertEquals(143, agent.awaitExit(Duration.ofSeconds(30)));
        }
    }

    /**
     * A Copy that reads on (the agent's own pagemap: 256 GiB read through, nearly all of it holes)
     * when core.shutdown comes on the same connection: ECANCELED, the destination left as it was
     * (not made, no temporary file beside it).
     */
    @Test
    void aCopyInProgressIsAnsweredEcanceledAndLeavesNothing() throws Exception {
        try (AgentProcess agent = AgentProcess.start("fs-shutdown-copy");
                HostConnection host = agent.connect()) {
            host.expect(0, MessageType.CORE_READY);
            Path dir = Files.createDirectory(agent.dir().resolve("copies"));
            long id = FsHost.newId();
            host.send(new Frame(id, MessageType.FS_REQUEST,
                    new FsRequest(new FsOp.Copy("/proc/self/pagemap", dir.resolve("pagemap").toString()), null, true)));
            Thread.sleep(500);
            host.send(new Frame(0, MessageType.CORE_SHUTDOWN, null));
            FsResponse answer = (FsResponse) host.expect(id, MessageType.FS_RESPONSE).payload();
            assertEquals("ECANCELED", answer.errnoName(), answer.toString());
            assertTrue(answer.error().contains("the agent is shutting down"), answer.error());
            assertEquals(0, agent.awaitExit(Duration.ofSeconds(30)));
            try (Stream<Path> left = Files.list(dir)) {
                assertEquals(0, left.count(), "nothing left in " + dir);
            }
        }
    }

    private static void awaitSize(Path file, long size) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (Files.size(file) < size && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(size, Files.size(file), "the Write's data is in the file");
    }
}
