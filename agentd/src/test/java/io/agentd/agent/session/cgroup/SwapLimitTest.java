package io.agentd.agent.session.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.protocol.payload.ExecFailed;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * memory_max's swap half, on a directory standing in for the session's cgroup: memory.swap.max is
 * set to 0, and where the kernel has no such file (no swap accounting) the limit holds only while
 * the guest has no swap; otherwise it is refused, typed, not ignored (it used to be ignored).
 */
class SwapLimitTest {
    private static final String HEADER = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";

    /** Under target/: the agent's tests run with no usable java.io.tmpdir (agentd/pom.xml). */
    private final Path dir;

    SwapLimitTest() throws Exception {
        dir = Files.createTempDirectory(Files.createDirectories(Path.of("target")), "swap-limit-");
    }

    @Test
    void swapIsLimitedToZeroWithTheMemoryLimit() throws Exception {
        Files.writeString(dir.resolve("memory.swap.max"), ""); // a cgroup file takes a write whole
        SessionCgroupLimits.limitSwap(dir, Files.writeString(dir.resolve("swaps"), HEADER));
        assertEquals("0", Files.readString(dir.resolve("memory.swap.max")).strip());
    }

    @Test
    void withoutSwapAccountingTheLimitHoldsOnlyWhileThereIsNoSwap() throws Exception {
        SessionCgroupLimits.limitSwap(dir, Files.writeString(dir.resolve("swaps"), HEADER)); // no swap: fine
        Path swaps = Files.writeString(dir.resolve("swaps2"), HEADER + "/swapfile file 1048572 0 -2\n");
        ExecFailed f = assertThrows(CgroupRefusal.class, () -> SessionCgroupLimits.limitSwap(dir, swaps)).failure();
        assertEquals("resource_limit", f.kind());
        assertEquals("cgroup", f.stage());
        assertEquals("ENOENT", f.errnoName());
        assertTrue(f.message().contains("does not account swap per cgroup"), f.message());
    }

    @Test
    void aSwapListThatCannotBeReadCountsAsSwap() {
        assertTrue(SessionCgroupLimits.swapConfigured(dir.resolve("missing")));
        assertTrue(SessionCgroupLimits.swapConfigured(dir)); // a directory: unreadable too
    }

    @Test
    void aSwapListWithOnlyItsHeaderIsNoSwap() throws Exception {
        assertFalse(SessionCgroupLimits.swapConfigured(Files.writeString(dir.resolve("swaps"), HEADER)));
    }
}
