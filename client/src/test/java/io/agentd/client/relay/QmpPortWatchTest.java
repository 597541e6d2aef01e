package io.agentd.client.relay;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How the watch reports its QMP connection's end, read from the relay's log (slf4j-simple writes to
 * System.err, which each test takes): an end after QEMU's SHUTDOWN event is the VM's own and no
 * warning; an end without it is one.
 */
class QmpPortWatchTest {
    @TempDir
    Path dir;

    private final ByteArrayOutputStream log = new ByteArrayOutputStream();
    private PrintStream stderr;

    @BeforeEach
    void takeStderr() {
        stderr = System.err;
        System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void giveStderrBack() {
        System.setErr(stderr);
    }

    private String logAfter(String mark) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            String text = log.toString(StandardCharsets.UTF_8);
            if (text.contains(mark)) {
                return text;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no log line with '" + mark + "' in 10 s; the log: " + log.toString(StandardCharsets.UTF_8));
    }

    @Test
    void anEndAfterQemusShutdownEventIsNoWarning() throws Exception {
        try (FakeQmp qmp = FakeQmp.start(dir.resolve("qmp.sock"));
                QmpPortWatch watch = QmpPortWatch.start(qmp.path, QmpPortWatch.PORT_DEVICE_ID, at -> {}, () -> {})) {
            qmp.awaitNegotiated(Duration.ofSeconds(10));
            qmp.shutDown();
            String text = logAfter("ended");
            assertTrue(text.contains("INFO") && text.contains("announced its shutdown"), text);
            assertFalse(text.contains("WARN"), text);
        }
    }

    @Test
    void anEndWithoutItIsAWarning() throws Exception {
        try (FakeQmp qmp = FakeQmp.start(dir.resolve("qmp.sock"));
                QmpPortWatch watch = QmpPortWatch.start(qmp.path, QmpPortWatch.PORT_DEVICE_ID, at -> {}, () -> {})) {
            qmp.awaitNegotiated(Duration.ofSeconds(10));
            qmp.dropConnection();
            String text = logAfter("ended");
            assertTrue(text.contains("WARN") && text.contains("going on without it"), text);
        }
    }
}
