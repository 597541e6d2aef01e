package io.agentd.agent.spawn;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Loading the native shim refuses what is not the shim at start-up, with an IllegalStateException
 * that names the file, not an UnsatisfiedLinkError on the first exec.
 */
class NativeShimLoadTest {

    @Test
    void theBuiltShimLoads() {
        NativeShim.load(Path.of(System.getProperty(Spawner.SHIM_PROPERTY)));
    }

    @Test
    void aMissingFileIsRefused() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> NativeShim.load(Path.of("/nonexistent/libagentd-shim.so")));
        assertTrue(e.getMessage().contains("is not a file"), e.getMessage());
    }

    @Test
    void aSecondCopyOfTheShimIsRefused() throws Exception {
        Path shim = Path.of(System.getProperty(Spawner.SHIM_PROPERTY));
        NativeShim.load(shim);
        Path dir = java.nio.file.Files.createTempDirectory(
                java.nio.file.Files.createDirectories(Path.of("target")), "shim-copy");
        Path copy = java.nio.file.Files.copy(shim, dir.resolve("libagentd-shim.so"));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> NativeShim.load(copy));
        assertTrue(e.getMessage().contains("another copy"), e.getMessage());
        NativeShim.load(shim); // the one loaded still loads
    }

    @Test
    void aLibraryWithoutTheShimsFunctionsIsRefused() {
        // The JDK's own libjava.so: a real shared library that has none of agentd_spawn*.
        Path notTheShim = Path.of(System.getProperty("java.home"), "lib", "libjava.so");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> NativeShim.load(notTheShim));
        assertTrue(e.getMessage().contains("does not load") && e.getMessage().contains(notTheShim.toString()),
                e.getMessage());
    }
}
