package io.agentd.agent.e2e;

import static io.agentd.agent.e2e.Requests.sh;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.agentd.protocol.MessageType;
import io.agentd.protocol.payload.ExecRequest;
import io.agentd.protocol.payload.ExecStarted;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Bulk pipe output, which the agent splices from the child's pipe to the port (and enlarges the pipe
 * for): every byte arrives, in order, on the right stream, before exited.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SplicedOutputE2ETest {
    @RegisterExtension
    static final SharedAgent agent = new SharedAgent("spliced");
    private HostConnection host;

    @BeforeEach
    void connect(HostConnection host) {
        this.host = host;
    }

    @Test
    void bulkStdoutAndStderrOfSessionsAtOnceArriveByteIdentical() throws Exception {
        byte[] content = random(24 << 20);
        Path file = Files.write(agent.process().dir().resolve("bulk"), content);
        String both = "cat '" + file + "' & cat '" + file + "' >&2; wait";
        for (long id = 1; id <= 3; id++) {
            host.exec(id, sh(both));
        }
        for (long id = 1; id <= 3; id++) {
            SessionResult r = host.collect(id, HostConnection.TIMEOUT);
            assertEquals(0, r.code());
            assertEquals(content.length, r.stdout().length, "stdout of " + id);
            assertEquals(content.length, r.stderr().length, "stderr of " + id);
            assertArrayEquals(sha256(content), sha256(r.stdout()), "stdout of " + id);
            assertArrayEquals(sha256(content), sha256(r.stderr()), "stderr of " + id);
        }
    }

    /**
     * The host stops reading while a child writes more than the socket and the queue hold, and exits
     * leaving a descendant that holds the pipe: at the end of the drain window the frame the queue
     * stopped at is still in the pipe, and the agent must take it out before it closes the pipe.
     * A 64 KiB high-water mark makes that certain: the queue stops well before the child is done.
     */
    @Test
    void outputStillInThePipeWhenTheDrainWindowEndsIsDelivered() throws Exception {
        byte[] content = random(1 << 20);
        try (AgentProcess small = AgentProcess.start("spliced-drain", "--high-water", "65536");
                HostConnection host = small.connectReady()) {
            Path file = Files.write(small.dir().resolve("mib"), content);
            host.exec(10, sh("cat '" + file + "'; sleep 30 &"));
            host.expect(10, MessageType.EXEC_STARTED);
            host.pauseReading();
            Thread.sleep(1500); // the leader exits and the 250 ms drain window ends meanwhile
            host.resumeReading();
            SessionResult r = host.collect(10, HostConnection.TIMEOUT);
            assertEquals(0, r.code());
            assertArrayEquals(sha256(content), sha256(r.stdout()));
        }
    }

    /**
     * A host that leaves while bulk output is queued as spliced frames: the queue drops them, the
     * session is killed, and the next host is served, bulk output included.
     */
    @Test
    void aHostLeavingDuringBulkOutputLeavesTheAgentServingTheNext() throws Exception {
        try (AgentProcess bulk = AgentProcess.start("spliced-leave")) {
            long pid;
            try (HostConnection host = bulk.connectReady()) {
                host.exec(1, ExecRequest.of("head", "-c", "1G", "/dev/zero"));
                pid = ((ExecStarted) host.expect(1, MessageType.EXEC_STARTED).payload()).pid();
                assertEquals(MessageType.EXEC_STDOUT, host.next(1).type());
                host.pauseReading(); // frames pile up in the queue, their data in head's pipe
                Thread.sleep(300);
            }
            long deadline = System.currentTimeMillis() + 5000;
            while (Files.exists(Path.of("/proc/" + pid)) && System.currentTimeMillis() < deadline) {
                Thread.sleep(20);
            }
            assertFalse(Files.exists(Path.of("/proc/" + pid)), "the session was killed and reaped");
            try (HostConnection host = bulk.connectReady()) {
                SessionResult r = host.run(2, ExecRequest.of("head", "-c", "8M", "/dev/zero"));
                assertEquals(0, r.code());
                assertEquals(8 << 20, r.stdout().length);
            }
        }
    }

    private static byte[] random(int size) {
        byte[] b = new byte[size];
        new Random(size).nextBytes(b);
        return b;
    }

    private static byte[] sha256(byte[] data) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(data);
    }
}
