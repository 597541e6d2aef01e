package io.agentd.agent.spawn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.agentd.agent.sys.LibC;
import io.agentd.agent.sys.Os;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The spawn's JNI method checks its two direct buffers against the structs' sizes before
 * agentd_spawn reads or writes them (rules 4 and 5 in agentd-jni.c): a buffer shorter than its struct
 * is answered -1 with EFAULT, nothing is started and nothing written. Without the check a short
 * spec is read past its end, its pointers whatever memory follows (here 0x5a bytes), and the JVM
 * dies of a SIGSEGV in agentd_spawn: that case runs in a JVM of its own ({@link ShortSpec}), which
 * prints what it was answered. A short result was written past its end, and the command started.
 */
@Timeout(60)
class NativeShimBufferTest {
    private static final byte FILL = 0x5a;

    @Test
    void aResultBufferShorterThanItsStructIsRefusedAndNothingStarts() throws Exception {
        Path dir = scratch();
        NativeShim.load(Path.of(System.getProperty(Spawner.SHIM_PROPERTY)));
        Path marker = dir.resolve("started");
        int devNull = Os.libc().open(Os.cString("/dev/null"), LibC.O_RDWR | LibC.O_CLOEXEC, 0);
        assertTrue(devNull >= 0, Os.errnoName(Os.errno()));
        try {
            List<String> env = EnvBuilder.build(List.of(), List.of(), false);
            ShimSpec call = new ShimSpec(new SpawnSpec("touch", List.of(marker.toString()), env, null, null, false, 24,
                    80, List.of(), Profile.DEFAULT), env, Spawner.DEFAULT_SEARCH_PATH,
                    new int[] {devNull, devNull, devNull}, null, -1, 0, 0, null);
            ByteBuffer whole = filled(ShimSpec.RESULT_BYTES + 64);
            ByteBuffer result = Os.slice(whole, 0, 8); // the pid and the pidfd, no room for the rest

            int answer = NativeShim.spawn(call.spec(), result);
            int errno = Os.errno();
            if (answer == 0) { // started: wait for it, so that the marker tells, and leave no child behind
                Os.libc().waitpid(result.getInt(0), null, 0);
                Os.close(result.getInt(4));
            }
            assertEquals(-1, answer, "spawned pid " + result.getInt(0) + " with a result buffer of 8 bytes");
            assertEquals("EFAULT", Os.errnoName(errno));
            assertFilled(whole, "the result buffer and the bytes after it");
            assertFalse(Files.exists(marker), "the command ran");
        } finally {
            Os.close(devNull);
        }
    }

    @Test
    void aSpecBufferShorterThanItsStructIsRefused() throws Exception {
        Path dir = scratch();
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(java.toString(), "-Xmx32m", "-XX:+UseSerialGC", "-XX:-CreateCoredumpOnCrash",
                "-XX:ErrorFile=" + dir.resolve("hs_err.log"),
                "-D" + Spawner.SHIM_PROPERTY + "=" + System.getProperty(Spawner.SHIM_PROPERTY),
                "-cp", System.getProperty("java.class.path"), ShortSpec.class.getName())
                .redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(50, TimeUnit.SECONDS), out);
        assertEquals(0, p.exitValue(), "the JVM that passed a spec of 8 bytes ended so:\n" + out);
        assertEquals("answered -1 EFAULT, result untouched\n", out);
    }

    /** In a JVM of its own: a spec of 8 bytes at the start of a larger buffer, and a whole result. */
    static final class ShortSpec {
        public static void main(String[] args) {
            NativeShim.load(Path.of(System.getProperty(Spawner.SHIM_PROPERTY)));
            ByteBuffer whole = filled(ShimSpec.SPEC_BYTES + 256);
            ByteBuffer spec = Os.slice(whole, 0, 8);
            ByteBuffer result = filled(ShimSpec.RESULT_BYTES);
            int answer = NativeShim.spawn(spec, result);
            int errno = Os.errno();
            boolean untouched = true;
            for (int i = 0; i < result.capacity(); i++) {
                untouched &= result.get(i) == FILL;
            }
            System.out.println("answered " + answer + " " + Os.errnoName(errno) + ", result "
                    + (untouched ? "untouched" : "written"));
        }
    }

    /** A directory of its own under target (the build gives tests no java.io.tmpdir). */
    private static Path scratch() throws Exception {
        return Files.createTempDirectory(Files.createDirectories(Path.of("target/test-tmp").toAbsolutePath()), "shim-buffer-");
    }

    private static ByteBuffer filled(int bytes) {
        ByteBuffer buffer = Os.allocate(bytes);
        for (int i = 0; i < bytes; i++) {
            buffer.put(i, FILL);
        }
        return buffer;
    }

    private static void assertFilled(ByteBuffer buffer, String what) {
        for (int i = 0; i < buffer.capacity(); i++) {
            assertEquals(FILL, buffer.get(i), what + ": byte " + i + " written");
        }
    }
}
