package io.agentd.agent.spawn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/**
 * The kernel's last capability as the agent reads it for the strict profile: the kernel's file, and
 * without /proc the highest capability the agent holds, which is the same number for an agent holding
 * that one (a root agent whose bounding set was not cut, as the guest's is).
 */
class LastCapabilityTest {

    @Test
    void theAgentTakesTheKernelsNumber() throws Exception {
        int last = Integer.parseInt(Files.readAllLines(LastCapability.KERNEL_FILE).get(0).trim());
        assertTrue(last >= 37, "a kernel since 3.16 knows CAP_AUDIT_READ: " + last);
        assertEquals(last, LastCapability.ofKernel());
    }

    @Test
    void withoutTheFileTheHighestCapabilityHeldIsTheKernelsLastForAnAgentHoldingIt() throws Exception {
        int last = LastCapability.read(LastCapability.KERNEL_FILE).orElseThrow();
        long permitted = -1;
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("CapPrm:")) {
                permitted = Long.parseUnsignedLong(line.substring("CapPrm:".length()).trim(), 16);
            }
        }
        assumeTrue((permitted >>> last & 1) == 1, "this JVM does not hold capability " + last + ": "
                + Long.toHexString(permitted));
        assertEquals(last, LastCapability.highestHeld());
        assertEquals(last, LastCapability.ofKernel(Path.of("/nonexistent/cap_last_cap")));
    }

    @Test
    void aFileThatIsNoCapabilityNumberIsNotTaken() throws Exception {
        Path dir = Files.createTempDirectory(Files.createDirectories(Path.of("target/test-tmp").toAbsolutePath()), "cap-");
        assertEquals(OptionalInt.empty(), LastCapability.read(dir.resolve("missing")));
        assertEquals(OptionalInt.empty(), LastCapability.read(Files.writeString(dir.resolve("text"), "forty\n")));
        assertEquals(OptionalInt.empty(), LastCapability.read(Files.writeString(dir.resolve("negative"), "-1\n")));
        assertEquals(OptionalInt.of(40), LastCapability.read(Files.writeString(dir.resolve("forty"), "40\n")));
    }
}
