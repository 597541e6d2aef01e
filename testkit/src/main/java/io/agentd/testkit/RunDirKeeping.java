package io.agentd.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A VM's run directory, made for its boot and, when it is the default temporary one, removed after
 * {@link GuestVm#close} only if the guest powered off: otherwise its console stays for a look and the
 * path is logged. (A given directory is the caller's: kept always.)
 */
final class RunDirKeeping {
    /** Logged under GuestVm's name, as before this class was split from it: log configurations name it. */
    private static final Logger log = LoggerFactory.getLogger(GuestVm.class);

    private RunDirKeeping() {
    }

    /** {@code given}, created if missing, or a fresh temporary directory when null. */
    static Path prepare(Path given) throws GuestVmException {
        try {
            if (given == null) {
                return Files.createTempDirectory("agentd-vm-");
            }
            return Files.createDirectories(given).toAbsolutePath();
        } catch (IOException e) {
            throw new GuestVmException("cannot create the run directory " + given + ": " + e.getMessage(), e);
        }
    }

    /**
     * After close, a temporary run directory: removed when the guest powered off, else kept and named.
     *
     * @param exitedZero QEMU exited by itself, with status 0 (not killed, not failed)
     * @param poweredOff the console ends with the kernel's power-off ({@link ConsoleEnd#poweredOff})
     */
    static void afterClose(Path runDir, boolean exitedZero, boolean poweredOff) {
        if (exitedZero && poweredOff) {
            deleteTree(runDir);
        } else if (exitedZero) {
            log.warn("the guest ended without powering off (a kernel panic or a reset, QEMU exit status 0);"
                    + " its files stay in {}", runDir);
        } else {
            log.warn("the guest did not power off cleanly; its files stay in {}", runDir);
        }
    }

    /** Removes {@code dir} and what it holds, as far as it can (a run directory: BootBench's too). */
    static void deleteTree(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // Left behind in the temporary directory: harmless.
        }
    }
}
