package io.agentd.agent.fs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.spawn.UserDb;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Per-thread fs credentials, checked in /proc/thread-self/status (fs uid is the Uid line's fourth
 * field). Needs root (skipped otherwise): the agent's case in the guest and in CI.
 */
class FsCredentialsTest {
    private Path dir;

    @BeforeEach
    void rootOnly() throws IOException {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "needs root");
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target/fs-cred").toAbsolutePath()), "t-");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    }

    private static String[] ids(String field) {
        try {
            return Files.readAllLines(Path.of("/proc/thread-self/status")).stream()
                    .filter(l -> l.startsWith(field + ":")).findFirst().orElseThrow().split("\\s+");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void theOperationMeetsTheUsersChecksAndOnlyThisThreadChangesAndRootComesBack() throws Exception {
        FsCredentials credentials = FsCredentials.ofAgent();
        AtomicReference<String> otherThreadDuring = new AtomicReference<>();
        java.util.concurrent.CountDownLatch look = new java.util.concurrent.CountDownLatch(1);
        // Started before: a thread made during the operation would inherit its credentials (clone copies them).
        Thread other = new Thread(() -> {
            try {
                look.await();
            } catch (InterruptedException e) {
                return;
            }
            otherThreadDuring.set(ids("Uid")[4]);
        });
        other.start();
        FsFailure denied = assertThrows(FsFailure.class, () -> credentials.runAs(
                UserDb.system().resolve("nobody"), "nobody", () -> {
                    assertEquals("65534", ids("Uid")[4], "fs uid while the operation runs");
                    assertEquals("65534", ids("Gid")[4], "fs gid");
                    look.countDown();
                    try {
                        other.join();
                    } catch (InterruptedException e) {
                        throw new AssertionError(e);
                    }
                    try {
                        Files.createFile(dir.resolve("x"));
                        return null;
                    } catch (IOException e) {
                        throw FsErrors.from(e, "create");
                    }
                }));
        assertEquals(FsFailure.EACCES, denied.errno(), denied.getMessage());
        assertEquals("0", otherThreadDuring.get(), "another thread keeps root's fs uid");
        assertEquals("0", ids("Uid")[4], "root's fs uid is back");
        assertEquals("0", ids("Gid")[4]);
        Files.createFile(dir.resolve("y")); // and with it root's rights
        assertTrue(Files.exists(dir.resolve("y")));
    }
}
