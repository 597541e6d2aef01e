package io.agentd.agent.session.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * CgroupFs.read: whole texts whatever their size, files that report size 0 as cgroup and /proc
 * files do, and no 8 KiB array per read (what Files.readString made for each, at every exit).
 */
class CgroupFsReadTest {
    private Path dir;

    @BeforeEach
    void directory() throws Exception {
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "cgroup-files-");
    }

    @Test
    void aSmallFileABigOneAndTheSmallOneAgainAreReadWhole() throws Exception {
        Path small = Files.writeString(dir.resolve("cpu.stat"), "usage_usec 12\nuser_usec 7\nsystem_usec 5\n");
        String bigText = "x".repeat(5000) + "\n" + "y".repeat(3000);
        Path big = Files.writeString(dir.resolve("cgroup.procs"), bigText);
        String hugeText = "1234567\n".repeat(20_000); // past what a thread keeps
        Path huge = Files.writeString(dir.resolve("huge"), hugeText);

        assertEquals("usage_usec 12\nuser_usec 7\nsystem_usec 5\n", CgroupFs.read(small));
        assertEquals(bigText, CgroupFs.read(big));
        assertEquals(hugeText, CgroupFs.read(huge));
        assertEquals("usage_usec 12\nuser_usec 7\nsystem_usec 5\n", CgroupFs.read(small), "a bigger read's bytes left in");
        assertEquals("", CgroupFs.read(Files.writeString(dir.resolve("empty"), "")));
    }

    @Test
    void aFileThatReportsSizeZeroIsReadToItsEnd() throws Exception {
        Path status = Path.of("/proc/self/status"); // its figures change from read to read, its keys do not
        assertEquals(0, Files.size(status), "this kernel gives /proc files a size");
        String read = CgroupFs.read(status);
        assertTrue(read.length() > 1024, "shorter than the first buffer: " + read.length() + " bytes");
        assertEquals(keys(Files.readString(status)), keys(read));
    }

    private static java.util.List<String> keys(String status) {
        return status.lines().map(l -> l.substring(0, l.indexOf(':'))).toList();
    }

    /** Files.readString ignored a pending interrupt; an interruptible read would say "gone" (null) instead. */
    @Test
    void aThreadWithItsInterruptSetStillReads() throws Exception {
        Path events = Files.writeString(dir.resolve("cgroup.events"), "populated 1\nfrozen 0\n");
        Thread.currentThread().interrupt();
        try {
            assertEquals("populated 1\nfrozen 0\n", CgroupFs.read(events));
            assertTrue(Thread.currentThread().isInterrupted(), "the interrupt was swallowed");
        } finally {
            Thread.interrupted();
        }
    }

    @Test
    void aMissingFileIsNull() {
        assertNull(CgroupFs.read(dir.resolve("memory.peak")));
    }

    /** cgroup.events and the like say size 0: Files.readString read each through a new 8 KiB array. */
    @Test
    void aSmallFileThatReportsSizeZeroCostsLittleMoreThanItsText() throws Exception {
        Path ostype = Path.of("/proc/sys/kernel/ostype"); // "Linux\n", size 0, as cgroup.events is
        assertEquals(0, Files.size(ostype));
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assertTrue(threads.isThreadAllocatedMemoryEnabled(), "this JVM counts no allocation per thread");
        for (int i = 0; i < 1000; i++) {
            CgroupFs.read(ostype); // the thread's buffer made, the code warmed
        }
        long before = threads.getCurrentThreadAllocatedBytes();
        int reads = 2000;
        for (int i = 0; i < reads; i++) {
            CgroupFs.read(ostype);
        }
        long perRead = (threads.getCurrentThreadAllocatedBytes() - before) / reads;
        assertTrue(perRead < 1024, "a 6-byte file read allocated " + perRead + " bytes"); // the first buffer's size
    }
}
