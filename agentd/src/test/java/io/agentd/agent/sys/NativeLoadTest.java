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
 * Surefire runs these tests the way the guest launcher runs the agent: native-shim from
 * -Dagentd.shim.library, jffi's stub (libcrypto's binding, fs.LibCrypto) from
 * -Djffi.boot.library.path and a java.io.tmpdir that does not exist. (When the boot path does not
 * work, jffi extracts the stub into java.io.tmpdir, or failing that into the working directory.)
 */
class NativeLoadTest {

    @Test
    void jffiStubIsTheOneFromTheBootPath() throws Exception {
        String bootPath = System.getProperty("jffi.boot.library.path");
        assertNotNull(bootPath, "surefire sets -Djffi.boot.library.path");
        jnr.ffi.Runtime.getSystemRuntime(); // what fs.LibCrypto's load starts with
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

    @Test
    void errnoIsKeptPerThreadPastTheJvmsOwnCalls() throws Exception {
        assertEquals(-1, Os.libc().close(-1));
        Thread other = new Thread(() -> Os.libc().open(Os.cString("/nonexistent/x"), LibC.O_RDONLY, 0));
        other.start();
        other.join();
        System.gc(); // the JVM's own system calls on this thread, between the call and the read of errno
        assertEquals("EBADF", Os.errnoName(Os.errno()), "this thread's errno, not the other thread's ENOENT");
    }

    @Test
    void everyNativeMethodOfLibCIsRegisteredByTheLibrary() {
        Os.libc();
        long declared = java.util.Arrays.stream(LibC.class.getDeclaredMethods())
                .filter(m -> java.lang.reflect.Modifier.isNative(m.getModifiers()))
                .count();
        // Each table entry must match a method for the load to succeed: equal counts leave none out.
        assertEquals(declared, LibC.methodsRegistered(), "native methods of LibC against agentd-jni.c's table");
    }

    @Test
    void aNumberGlibcDoesNotNameIsSaidAsANumber() {
        assertEquals("errno 4000", Os.errnoName(4000));
        assertEquals("unknown error", Os.errnoDescription(4000));
    }

    @Test
    void theOpenFlagsThatDifferByMachineAreTheHeaders() {
        Os.libc(); // loads the library (LibC's own methods are there only once Os has loaded it)
        assertEquals(LibC.openFlag(0), LibC.O_NOFOLLOW);
        assertEquals(LibC.openFlag(1), LibC.O_DIRECTORY);
    }

    @Test
    void aHeapBufferReadsAndWritesFromItsPositionAndARegionOutsideAnArrayIsRefused() {
        int[] fds = new int[2];
        assertEquals(0, Os.libc().pipe2(fds, LibC.O_CLOEXEC));
        try {
            java.nio.ByteBuffer out = java.nio.ByteBuffer.wrap("xxhello".getBytes());
            out.position(2);
            assertEquals(5, Os.libc().write(fds[1], out.asReadOnlyBuffer(), 5), "a read-only heap buffer");
            java.nio.ByteBuffer in = java.nio.ByteBuffer.allocate(10);
            in.position(3);
            assertEquals(5, Os.libc().read(fds[0], in, 5));
            assertEquals("hello", new String(in.array(), 3, 5));
            assertEquals(-1, Os.libc().read(fds[0], new byte[4], 5), "5 bytes into 4");
            assertEquals("EFAULT", Os.errnoName(Os.errno()));
        } finally {
            Os.close(fds[0]);
            Os.close(fds[1]);
        }
    }

    @Test
    void aNullPathIsRefusedWithoutACall() {
        assertEquals(-1, Os.libc().open(null, LibC.O_RDONLY | LibC.O_CLOEXEC, 0));
        assertEquals("EFAULT", Os.errnoName(Os.errno()));
        assertEquals(-1, Os.libc().renameat(LibC.AT_FDCWD, null, LibC.AT_FDCWD, Os.cString("/tmp/x")));
        assertEquals("EFAULT", Os.errnoName(Os.errno()));
        assertEquals(-1, Os.libc().mkdirat(LibC.AT_FDCWD, null, 0700));
        assertEquals("EFAULT", Os.errnoName(Os.errno()));
    }
}
