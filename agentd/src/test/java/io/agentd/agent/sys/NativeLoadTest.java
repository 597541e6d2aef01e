package io.agentd.agent.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Surefire runs these tests the way the guest launcher runs the agent: jffi's stub from
 * -Djffi.boot.library.path and a java.io.tmpdir that does not exist. (When the boot path does not
 * work, jffi extracts the stub into java.io.tmpdir, or failing that into the working directory.)
 */
class NativeLoadTest {

    @Test
    void jffiStubIsTheOneFromTheBootPath() throws Exception {
        String bootPath = System.getProperty("jffi.boot.library.path");
        assertNotNull(bootPath, "surefire sets -Djffi.boot.library.path");
        assertEquals(-1, Os.libc().close(-1), "libc is usable");
        List<String> jffiMappings = Files.readAllLines(Path.of("/proc/self/maps")).stream()
                .filter(line -> line.contains("jffi"))
                .map(line -> line.substring(line.indexOf('/')))
                .distinct()
                .toList();
        assertFalse(jffiMappings.isEmpty(), "jffi's stub is mapped");
        String realBootPath = Path.of(bootPath).toRealPath().toString();
        for (String mapped : jffiMappings) {
            assertTrue(mapped.startsWith(realBootPath + "/"), mapped + " is not under " + realBootPath);
        }
        assertFalse(Files.exists(Path.of(System.getProperty("java.io.tmpdir"))), "nothing made a temp directory");
    }

    @Test
    void errnoIsThisThreadsLastError() {
        assertEquals(-1, Os.libc().close(-1));
        assertEquals("EBADF", Os.errnoName(Os.errno()));
        assertEquals("Bad file descriptor", Os.errnoDescription(Os.errno()));
    }
}
