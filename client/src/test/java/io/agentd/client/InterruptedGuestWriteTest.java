package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.client.fs.GuestFiles;
import io.agentd.client.fs.GuestOutputStream;
import io.agentd.client.fs.WriteOptions;
import java.io.InterruptedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * An atomic guest write whose thread is interrupted gives up as documented for a failed write: the
 * destination stays as it was and its temporary file goes, at once, not when the connection ends
 * (the abort's own waits must not be cut short by the interrupt that caused it).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class InterruptedGuestWriteTest {

    @Test
    void anInterruptedAtomicWriteLeavesNoTemporaryFileBehind(@TempDir Path dir) throws Exception {
        Path guestDir = Files.createDirectory(dir.resolve("guest"));
        try (AgentdProcess agentd = AgentdProcess.start(dir); AgentClient client = agentd.connect()) {
            GuestFiles files = client.files();
            assertTrue(files.extensions(), "the agent replaces files atomically");
            String dest = guestDir.resolve("out.bin").toString();
            CompletableFuture<Throwable> ended = new CompletableFuture<>();
            Thread writer = new Thread(() -> {
                try (GuestOutputStream out = files.openWrite(dest, WriteOptions.DEFAULT)) {
                    byte[] chunk = new byte[64 * 1024];
                    while (true) {
                        out.write(chunk);
                    }
                } catch (Throwable t) {
                    ended.complete(t);
                }
            });
            writer.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (listing(guestDir).isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(10); // until the temporary file is there
            }
            Thread.sleep(200);
            writer.interrupt(); // once, as Future.cancel(true) does
            Throwable t = ended.get(20, TimeUnit.SECONDS);
            assertTrue(t instanceof InterruptedIOException, String.valueOf(t));
            writer.join(10_000);

            assertFalse(Files.exists(guestDir.resolve("out.bin")), "the destination never appeared");
            assertEquals(List.of(), listing(guestDir), "the temporary file is gone while the connection lives");
            client.ping(Duration.ofSeconds(10));
        }
    }

    private static List<String> listing(Path d) throws Exception {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).toList();
        }
    }
}
