package io.agentd.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.client.fs.GuestFiles;
import io.agentd.client.fs.GuestOutputStream;
import io.agentd.client.fs.WriteOptions;
import java.io.InputStream;
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
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A guest file stream whose thread was interrupted still cleans up in the agent at once, not when
 * the connection ends: an atomic write gives up as documented for a failed write (the destination
 * stays as it was, its temporary file goes), a read stream's close closes the file (the cleanup's
 * own waits must not be cut short by the interrupt that came before).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
@ExtendWith(SharedAgent.class)
class InterruptedGuestStreamTest {

    @Test
    void anInterruptedAtomicWriteLeavesNoTemporaryFileBehind(AgentdProcess agentd, @TempDir Path dir) throws Exception {
        Path guestDir = Files.createDirectory(dir.resolve("guest"));
        try (AgentClient client = agentd.connect()) {
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

    /**
     * Its own agent. Whether the file is open is read from the agent's descriptors' links, not their
     * count: the count moved with what the agent opens and closes on its own (an agent started on
     * its class-data archive opens its 13 jars at the first fs class the archive lacks).
     */
    @Test
    void closingAReadStreamWithTheInterruptFlagSetStillClosesTheGuestHandle(@TempDir Path dir) throws Exception {
        Path file = Files.write(dir.resolve("data.bin"), new byte[10 << 20]);
        try (AgentdProcess agentd = AgentdProcess.start(dir); AgentClient client = agentd.connect()) {
            Path agentFds = Path.of("/proc/" + agentd.pid() + "/fd");
            InputStream in = client.files().openRead(file.toString());
            assertEquals(0, in.read());
            assertEquals(1, opensOf(agentFds, file), "the file is open in the agent");
            Thread.currentThread().interrupt(); // as after an interrupted read, before try-with-resources closes
            try {
                in.close();
            } finally {
                assertTrue(Thread.interrupted(), "the flag is put back");
            }
            assertEquals(0, opensOf(agentFds, file), "the agent closed the file");
        }
    }

    /** How many of the descriptors in {@code fds} (a /proc/PID/fd) have {@code file} open. */
    private static long opensOf(Path fds, Path file) throws Exception {
        Path real = file.toRealPath();
        try (Stream<Path> s = Files.list(fds)) {
            return s.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).equals(real);
                } catch (Exception gone) { // closed since the listing
                    return false;
                }
            }).count();
        }
    }

    private static List<String> listing(Path d) throws Exception {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).toList();
        }
    }
}
